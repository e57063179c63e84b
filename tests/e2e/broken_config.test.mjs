// The desktop app always opens: a models.yaml that does not load shows the
// error, with file and line, in the window instead of exiting with nothing
// on screen. Run with `tests/e2e/run tests/e2e/broken_config.test.mjs`.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test, after } from "node:test";

import { CLIENT_KEY, Session, freePort, homeWith, startDriver, stopAll } from "./harness.mjs";

const port = await freePort();
const home = homeWith({ port, region: "us-east-1", start_proxy_on_launch: true });
const catalog = path.join(home, "models.yaml");
// Line 3 opens a flow mapping that never closes.
writeFileSync(catalog, "models:\n  - name: bedrock/mine\n    display: {oops\n");
const driver = await startDriver({
  ...process.env,
  CLAWROUTER_HOME: home,
  CLAWROUTER_API_KEY: CLIENT_KEY,
  NO_PROXY: "127.0.0.1,localhost",
});
const app = await Session.create(driver);
after(async () => {
  await app.close();
  stopAll();
});

test("a broken models.yaml opens the window showing the error with file and line", async () => {
  const message = await app.waitText("#startup-problem", (t) => t.length > 0, 30_000);
  assert.match(message, new RegExp(`^${catalog.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: `), message);
  assert.equal(await app.text("#problem-file"), catalog);
  // models.yaml is the user's own file: fixing it is theirs, no reset offered.
  assert.equal((await app.findAll("#problem-reset")).length, 0);
  assert.equal((await app.findAll("#problem-restart")).length, 1);
});

test("nothing listens: the proxy did not start on a catalog it cannot read", async () => {
  const res = await fetch(`http://127.0.0.1:${port}/health/liveliness`).catch((e) => e);
  assert.ok(res instanceof Error, "the proxy must not be running");
});

// The desktop app on a machine with no Secret Service (servers, SSH, WSL,
// minimal desktops): the window opens and the proxy runs, with the client
// key in a private file in the ClawRouter home (never AWS keys), and a
// banner says so and offers a retry.
// Run with `tests/e2e/run tests/e2e/no_keychain.test.mjs`.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test, after } from "node:test";

import { DOUBLE_KEY_ID, DOUBLE_SECRET, Session, appEnv, chat, freePort, homeWith, startDouble, startDriver, stopAll } from "./harness.mjs";

const doubleUrl = await startDouble();
const port = await freePort();
const home = homeWith({ port, region: "us-east-1", start_proxy_on_launch: true });
const env = appEnv(home, doubleUrl, {
  // A session bus that is not there: no Secret Service can answer.
  DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus",
  CLAWROUTER_KEYCHAIN_SERVICE: "clawrouter-e2e-no-keychain",
  AWS_ACCESS_KEY_ID: DOUBLE_KEY_ID,
  AWS_SECRET_ACCESS_KEY: DOUBLE_SECRET,
});
delete env.CLAWROUTER_API_KEY;
const driver = await startDriver(env);
const app = await Session.create(driver);
after(async () => {
  await app.close();
  stopAll();
});

const keyFile = path.join(home, "client-api-key");

test("with no Secret Service the window opens and the proxy runs", async () => {
  await app.waitText("#proxy-status", (t) => t === `Running on 127.0.0.1:${port}`, 30_000);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600, "the key file is private");
  const key = readFileSync(keyFile, "utf8").trim();
  assert.match(key, /^sk-clawrouter-/);
  const res = await chat(port, "hi", key);
  assert.equal(res.status, 200, await res.clone().text());
});

test("a banner says no keychain is available, where the key is, and offers a retry", async () => {
  const detail = await app.waitText("#keychain-detail", (t) => t.includes(keyFile));
  assert.match(detail, /AWS keys cannot be saved here/);
  // Still no keychain: Retry asks again and the banner stays.
  await app.click("#keychain-retry");
  await app.waitText("#keychain-banner", (t) => t.includes("No OS keychain is available"));
});

test("AWS secrets are never written to a file", () => {
  for (const file of readdirSync(home, { recursive: true })) {
    const full = path.join(home, file);
    if (!statSync(full).isFile()) continue;
    assert.ok(!readFileSync(full).includes(DOUBLE_SECRET), `${file} holds the AWS secret`);
  }
});

// Takes the README screenshots from the real app in demo mode: the bedrock
// double, 30 days of sample spend, a few requests through the proxy.
// Usage (see scripts/screenshots): node tests/e2e/screenshots.mjs OUT_DIR
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { CLIENT_KEY, DOUBLE_KEY_ID, DOUBLE_SECRET, Session, chat, freePort, homeWith, occupy, startDouble, startDriver, stopAll } from "./harness.mjs";

const out = process.argv[2] ?? "docs/screenshots";
const TARGET = process.env.CARGO_TARGET_DIR;
const doubleUrl = await startDouble();
// 4242 when free, as users see it; any free port otherwise.
const squat = await occupy(4242);
squat?.close();
const port = squat ? 4242 : await freePort();
const home = homeWith({ port, region: "us-east-1", budgets: { daily_usd: 5, monthly_usd: 60 } });
execFileSync(path.join(TARGET, "debug", "examples", "demo_ledger"), [path.join(home, "ledger.sqlite3")]);
const driver = await startDriver({
  ...process.env,
  CLAWROUTER_HOME: home,
  CLAWROUTER_API_KEY: CLIENT_KEY,
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: doubleUrl,
  AWS_ENDPOINT_URL_BEDROCK: doubleUrl,
  AWS_ACCESS_KEY_ID: DOUBLE_KEY_ID,
  AWS_SECRET_ACCESS_KEY: DOUBLE_SECRET,
  AWS_REGION: "us-east-1",
  NO_PROXY: "127.0.0.1,localhost",
});
const app = await Session.create(driver);
try {
  await app.call("POST", "/window/rect", { width: 1280, height: 1900 });
  await app.waitText("#proxy-status", (t) => t.startsWith("Running on"));
  for (const prompt of ["hi", "write a python function that merges two sorted lists", "prove that the square root of 2 is irrational", "summarize this paragraph for me", "hello again"]) {
    await chat(port, prompt);
  }
  await app.type("#route-input", "Refactor this Rust function to avoid the clone and add tests");
  await app.waitText("#route-result", (t) => t.includes("confidence"));
  await sleep(3500); // one dashboard refresh, then let the paint settle
  writeFileSync(path.join(out, "dashboard.png"), await app.screenshot());

  await app.click("#nav-settings");
  await app.call("POST", "/window/rect", { width: 1280, height: 1420 });
  await app.waitText("#keys-status", (t) => t.length > 0);
  await app.click("#test-connection");
  await app.waitText("#connection-result", (t) => t.includes("Suggested tiers"), 30_000);
  await sleep(800);
  writeFileSync(path.join(out, "settings.png"), await app.screenshot());
  console.log(`wrote ${out}/dashboard.png and ${out}/settings.png`);
} finally {
  await app.close();
  stopAll();
}

// End-to-end tests of the real desktop app (WebKitGTK webview, real IPC,
// real proxy, real Secret Service) driven through tauri-driver.
// Run with tests/e2e/run (it sets up Xvfb, D-Bus and an unlocked keyring).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test, after } from "node:test";

import {
  CLIENT_KEY, DOUBLE_KEY_ID, DOUBLE_SECRET, Session, chat, homeWith, occupy, startDouble, startDriver, stopAll, waitFor,
} from "./harness.mjs";

const CONFIGURED_PORT = 4242;

const doubleUrl = await startDouble();
// (3) The configured port is taken before the app starts.
const squatter = await occupy(CONFIGURED_PORT);
const home = homeWith({ port: CONFIGURED_PORT, region: "us-east-1", start_proxy_on_launch: false });
const driver = await startDriver({
  ...process.env,
  CLAWROUTER_HOME: home,
  CLAWROUTER_API_KEY: CLIENT_KEY,
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: doubleUrl,
  AWS_ENDPOINT_URL_BEDROCK: doubleUrl,
  // Only the keys saved through the UI may reach the double.
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
  NO_PROXY: "127.0.0.1,localhost",
});
const app = await Session.create(driver);
after(async () => {
  await app.close();
  squatter?.close();
  stopAll();
});

let port;

test("the window opens on the dashboard with the proxy stopped", async () => {
  await app.waitText("#proxy-status", (t) => t === "Stopped");
});

test("(1) credentials saved in settings land in the real Secret Service", async () => {
  await app.click("#nav-settings");
  await app.waitText("#keys-status", (t) => t.includes("No keys saved"));
  await app.type("#access_key_id", "AKIA-not-a-key");
  await app.waitText("label:has(#access_key_id) .error", (t) => t.includes("20 characters"));
  await app.type("#access_key_id", DOUBLE_KEY_ID);
  await app.type("#secret_access_key", DOUBLE_SECRET);
  await app.click("#save-settings");
  await app.waitText("#save-result", (t) => t.startsWith("Saved"));
  await app.waitText("#keys-status", (t) => t.includes("Saved in the OS keychain") && t.includes("MPLE"));

  const blob = execFileSync("secret-tool", ["lookup", "service", "clawrouter", "username", "aws-credentials"], { encoding: "utf8" });
  const stored = JSON.parse(blob);
  assert.equal(stored.access_key_id, DOUBLE_KEY_ID);
  assert.equal(stored.secret_access_key, DOUBLE_SECRET);
  // And never in a file in the ClawRouter home.
  for (const file of readdirSync(home, { recursive: true })) {
    const full = path.join(home, file);
    if (statSync(full).isFile()) assert.ok(!readFileSync(full, "utf8").includes(DOUBLE_SECRET), `secret found in ${file}`);
  }
});

test("(2)+(3) start from the UI on the fallback port, a request shows on the dashboard, stop", async () => {
  await app.click("#nav-dashboard");
  await app.click("#start-proxy");
  const headline = await app.waitText("#proxy-status", (t) => t.startsWith("Running on 127.0.0.1:"));
  port = Number(headline.split(":").pop());
  assert.notEqual(port, CONFIGURED_PORT, "the taken port must not be reported");
  const detail = await app.text("#proxy-detail");
  assert.match(detail, new RegExp(`Port ${CONFIGURED_PORT} was taken, so ClawRouter is using ${port}`));

  const res = await chat(port, "hi");
  assert.equal(res.status, 200, await res.clone().text());
  const model = res.headers.get("x-clawrouter-model");
  assert.ok(model, "routed model header");
  // The dashboard refreshes on its own; the model that answered turns healthy.
  const row = await waitFor(async () => {
    const rows = await app.script(
      "return [...document.querySelectorAll('#models-table tr[data-status=healthy]')].map(r => r.dataset.model + ' | ' + r.innerText)",
    );
    return rows.find((r) => r.startsWith(`${model} |`));
  }, 15_000, `${model} to show as healthy`);
  assert.match(row, /Healthy · 1 ok/);
  // The proxy records into the ledger the dashboard reads: the request is listed.
  const listed = await waitFor(async () => {
    const rows = await app.script("return [...document.querySelectorAll('#recent-table tbody tr')].map(r => r.dataset.model + ' | ' + r.innerText)");
    return rows.find((r) => r.startsWith(`${model} |`));
  }, 15_000, "the request in Recent requests");
  assert.match(listed, /OK/);

  await app.click("#stop-proxy");
  await app.waitText("#proxy-status", (t) => t === "Stopped");
  await assert.rejects(chat(port, "hi"), "the proxy no longer accepts connections");
});

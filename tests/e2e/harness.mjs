// A small harness for driving the real desktop app: the bedrock double,
// tauri-driver (WebKitWebDriver underneath) and a W3C WebDriver client over
// fetch. Used by the E2E test and by scripts/screenshots.
//
// Run inside a display and a private keyring, e.g.
//   xvfb-run -a scripts/with-keyring env NO_AT_BRIDGE=1 node tests/e2e/app.test.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

export const REPO = path.resolve(import.meta.dirname, "../..");
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(REPO, "target");
export const APP = process.env.CLAWROUTER_DESKTOP_BIN ?? path.join(TARGET, "debug", "clawrouter-desktop");
export const DOUBLE = process.env.BEDROCK_DOUBLE_BIN ?? path.join(TARGET, "debug", "bedrock-double");
export const DOUBLE_KEY_ID = "AKIDEXAMPLE";
export const DOUBLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
export const CLIENT_KEY = "sk-clawrouter-demo-0123456789abcdef";

const children = [];
/** Stops every process this harness started (also done at exit). */
export function stopAll() {
  for (const c of children.splice(0)) c.kill("SIGTERM");
}
process.on("exit", stopAll);

/** Spawns `cmd` and resolves with its first stdout line that starts with `prefix`. */
export function startAndRead(cmd, args, prefix, env = process.env) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`${cmd} exited (${code}) before saying "${prefix}"`)));
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.startsWith(prefix)) resolve({ child, line: line.slice(prefix.length).trim() });
    });
  });
}

export async function startDouble() {
  const { line } = await startAndRead(DOUBLE, ["--port", "0"], "listening on ");
  return line;
}

/** A CLAWROUTER_HOME with these settings. */
export function homeWith(settings) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "clawrouter-e2e-"));
  writeFileSync(path.join(dir, "settings.json"), JSON.stringify(settings, null, 2));
  return dir;
}

/** The app's environment: `home` as CLAWROUTER_HOME, Bedrock (runtime and
 *  discovery) at the double, no AWS config files; `extra` on top. */
export function appEnv(home, doubleUrl, extra = {}) {
  return {
    ...process.env,
    CLAWROUTER_HOME: home,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: doubleUrl,
    AWS_ENDPOINT_URL_BEDROCK: doubleUrl,
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    NO_PROXY: "127.0.0.1,localhost",
    ...extra,
  };
}

/** Holds 127.0.0.1:`port` if it is free (else someone else does: same effect). */
export function occupy(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts tauri-driver with `env` (the app inherits it) and waits until it answers. */
export async function startDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const bin = process.env.TAURI_DRIVER ?? "tauri-driver";
  const child = spawn(bin, ["--port", String(port), "--native-port", String(nativePort)], { env, stdio: "inherit" });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => canConnect(port), 30_000, "tauri-driver to listen");
  return url;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** The W3C WebDriver calls the tests need, over fetch. */
export class Session {
  static async create(driverUrl, app = APP) {
    const res = await fetch(`${driverUrl}/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capabilities: { alwaysMatch: { "tauri:options": { application: app } } } }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`cannot create a session: ${JSON.stringify(body)}`);
    return new Session(`${driverUrl}/session/${body.value.sessionId}`);
  }

  constructor(base) {
    this.base = base;
  }

  async call(method, route, body) {
    const res = await fetch(`${this.base}${route}`, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${route}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  async find(css) {
    const el = await this.call("POST", "/element", { using: "css selector", value: css });
    return Object.values(el)[0];
  }

  async findAll(css) {
    const els = await this.call("POST", "/elements", { using: "css selector", value: css });
    return els.map((e) => Object.values(e)[0]);
  }

  async text(css) {
    return this.call("GET", `/element/${await this.find(css)}/text`);
  }

  async click(css) {
    await this.call("POST", `/element/${await this.find(css)}/click`, {});
  }

  async type(css, text) {
    const id = await this.find(css);
    await this.call("POST", `/element/${id}/clear`, {});
    await this.call("POST", `/element/${id}/value`, { text });
  }

  async script(source, args = []) {
    return this.call("POST", "/execute/sync", { script: source, args });
  }

  /** Waits until `css` exists and its text satisfies `test`; returns the text. */
  async waitText(css, test, timeoutMs = 15_000) {
    return waitFor(async () => {
      const t = await this.text(css);
      return test(t) ? t : null;
    }, timeoutMs, `${css} to match (${test})`);
  }

  async screenshot() {
    return Buffer.from(await this.call("GET", "/screenshot"), "base64");
  }

  async close() {
    await fetch(this.base, { method: "DELETE" }).catch(() => undefined);
  }
}

/** A chat completion through the proxy; resolves with the HTTP response. */
export function chat(port, content, key = CLIENT_KEY) {
  return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "auto", messages: [{ role: "user", content }] }),
  });
}

// The settings view against mocked IPC: Test connection's results are
// brought into view (they appear below the form, out of sight).
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ConnectionReport, SettingsView } from "../src/api";
import { settingsView } from "../src/views/settings";

const view: SettingsView = {
  settings: {
    port: 4242, region: null, geography: null, aws_profile: null, start_proxy_on_launch: true, start_on_login: false,
    show_tier_prefix: false, auto_cache: true, budgets: { daily_usd: null, monthly_usd: null }, allowed_origins: [], max_body_bytes: 1,
    upstream_timeout_secs: 300, stream_idle_timeout_secs: 60,
  },
  keys: { saved: false, masked_access_key_id: null, has_session_token: false, error: null },
};

const report: ConnectionReport = {
  check: {
    ok: false, region: "us-east-1", endpoint: "x", credentials_source: null, credentials_status: "no AWS credentials found",
    credentials_problem: { summary: "no AWS credentials found", tried: ["keys saved in ClawRouter"], fix: "run `aws configure`" },
    api_key_source: "keychain", api_key_error: null, models: [],
  },
  credentials_from: null,
  tiers: [],
};

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

describe("settings", () => {
  it("brings Test connection's results into view with what to fix", async () => {
    mockIPC((cmd) => {
      if (cmd === "load_settings") return view;
      if (cmd === "test_connection") return report;
      throw new Error(`unexpected ${cmd}`);
    });
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this);
    };
    const panel = settingsView(() => undefined);
    document.body.replaceChildren(panel.element);
    await panel.load();
    (document.querySelector("#test-connection") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(document.querySelector("#check-lines")).not.toBeNull());
    const result = document.querySelector("#connection-result");
    expect(scrolled.at(-1)).toBe(result);
    expect(result?.textContent).toContain("No AWS credentials found.");
    expect(result?.textContent).toContain("Fix: run `aws configure`.");
  });
});

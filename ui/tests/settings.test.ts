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

  it("suggests tiers only from available, living models and marks a configured one that is not", async () => {
    const candidate = (name: string, extra: object) => ({ name, display: name, profile_id: `us.${name}`, cost: "$1/M", status: "healthy" as const, lifecycle: "active" as const, available: true, unavailable_reason: null, ...extra });
    const loaded: ConnectionReport = {
      ...report,
      check: { ...report.check, ok: true, credentials_status: "loaded", credentials_problem: null },
      tiers: [{
        tier: "mid",
        chosen: "sonnet-5-5",
        fallback: null,
        candidates: [
          candidate("sonnet-4", { lifecycle: "eol", available: false, status: "retired", unavailable_reason: "reached end of life on Bedrock on 2026-10-14" }),
          candidate("sonnet-5-5", {}),
          candidate("sonnet-4-5", { available: false, unavailable_reason: "this AWS account has no access to it" }),
          candidate("sonnet-4-6", {}),
        ],
      }],
    };
    mockIPC((cmd) => {
      if (cmd === "load_settings") return view;
      if (cmd === "test_connection") return loaded;
      throw new Error(`unexpected ${cmd}`);
    });
    Element.prototype.scrollIntoView = () => undefined;
    const panel = settingsView(() => undefined);
    document.body.replaceChildren(panel.element);
    await panel.load();
    (document.querySelector("#test-connection") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(document.querySelector('[data-tier="mid"]')).not.toBeNull());
    const tier = document.querySelector('[data-tier="mid"]') as HTMLElement;
    expect(tier.querySelector(".tier-choice")?.textContent).toBe("sonnet-5-5");
    const offered = [...tier.querySelectorAll("li:not(.not-offered)")].map((li) => li.getAttribute("data-model"));
    expect(offered).toEqual(["sonnet-5-5", "sonnet-4-6"]);
    const marked = [...tier.querySelectorAll("li.not-offered")].map((li) => li.textContent);
    expect(marked).toEqual([
      "sonnet-4 not offered: reached end of life on Bedrock on 2026-10-14",
      "sonnet-4-5 not offered: this AWS account has no access to it",
    ]);
  });
});

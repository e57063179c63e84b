// The dashboard against mocked IPC: it renders what the commands return and
// its buttons call the right commands.
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClientSetup, Dashboard, ProxyStatus, Usage } from "../src/api";
import { mount } from "../src/main";
import { usd } from "../src/format";
import { dashboardView } from "../src/views/dashboard";

const health = { profile_id: "us.haiku", status: "healthy", last_error: null, problem: null, advice: null, last_success: null, p50_ms: 120, p95_ms: 200, successes: 4, failures: 0 } as const;
const price = { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25, cache_write_1h: 2 };

function dashboard(status: ProxyStatus): Dashboard {
  return {
    status,
    models: [
      { name: "bedrock/haiku", display: "Claude Haiku", profile_id: "us.haiku", tiers: ["low"], price, health, lifecycle: "active", available: true, unavailable_reason: null },
      { name: "bedrock/sonnet-4", display: "Claude Sonnet 4", profile_id: "us.sonnet-4", tiers: [], price, health: { ...health, profile_id: "us.sonnet-4" }, lifecycle: "eol", available: false, unavailable_reason: "reached end of life on Bedrock on 2026-10-14" },
    ],
    tiers: [{ tier: "low", chosen: "bedrock/haiku", fallback: null, candidates: [{ name: "bedrock/haiku", display: "Claude Haiku", profile_id: "us.haiku", cost: "$1/M", status: "healthy", lifecycle: "active", available: true, unavailable_reason: null }] }],
    categories: [{ category: "heartbeat", tier: "low" }],
    rejected: { unauthorized: 0, budget: 0, guard: 0 },
  };
}

function spend(today: number, week: number, month: number) {
  return { today_usd: today, last_7d_usd: week, last_30d_usd: month, requests_30d: 12, input_tokens_30d: 0, output_tokens_30d: 0, cache_read_tokens_30d: 0, cache_write_tokens_30d: 0, unpriced_requests_30d: 0 };
}

/** A window whose cache read share is what the engine computes: read / (input + read + write). */
function period(spent: number, routing: number, caching: number, input: number, read: number, write: number) {
  return {
    spent_usd: spent, saved_by_routing_usd: routing, saved_by_caching_usd: caching, requests: 3,
    input_tokens: input, cache_read_tokens: read, cache_write_tokens: write, cache_read_share: read / (input + read + write),
  };
}

const usage: Usage = {
  summary: {
    per_model: [],
    per_tier: [],
    total: spend(0.5, 2, 9),
    per_client: [{ client: "Claude Code", spend: spend(0.4, 1.5, 7) }, { client: "curl", spend: spend(0.1, 0.5, 2) }],
    periods: {
      today: period(0.5, 1.25, 0.2, 300, 1_200, 100),
      last_7d: period(2, 6, 0.75, 20_000, 60_000, 20_000),
      last_30d: period(9, 30, 3, 100_000, 200_000, 50_000),
    },
    projected_monthly_usd: 10,
  },
  daily: [{ date: "2026-11-25", usd: 0.5, requests: 3 }],
  recent: [{ at_ms: Date.now(), client: "curl/8", route: "/v1/chat/completions", requested_model: "auto", tier: "low", category: "heartbeat", model: "bedrock/haiku", profile_id: "us.haiku", usage: { input: 10, output: 5, cache_read: 0, cache_write: 0 }, cost_usd: 0.0001, top_tier_cost_usd: 0.004, cache_saved_usd: 0, latency_ms: 300, ttft_ms: null, status: 200, error_kind: null, reason: "greeting or heartbeat → low tier" }],
  period: { today_usd: 0.5, month_usd: 4 },
  budgets: { daily_usd: 1, monthly_usd: null },
  demo: false,
};

const setup: ClientSetup = { endpoint: "http://127.0.0.1:4243", running: true, api_key: "sk-clawrouter-0123456789abcdefWXYZ", api_key_source: "keychain", keychain_fallback: null };

/** Mocks the dashboard's three commands; `over` replaces any of their answers. */
function mockDashboard(over: { dashboard?: Partial<Dashboard>; usage?: Partial<Usage>; setup?: () => ClientSetup } = {}): string[] {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "dashboard") return { ...dashboard({ state: "running", port: 4243, requested_port: 4242 }), ...over.dashboard };
    if (cmd === "usage") return { ...usage, ...over.usage };
    if (cmd === "client_setup") return over.setup ? over.setup() : setup;
    throw new Error(`unexpected ${cmd}`);
  });
  return calls;
}

async function rendered(): Promise<(sel: string) => string> {
  const view = dashboardView(() => undefined);
  document.body.replaceChildren(view.element);
  await view.refresh();
  await settle();
  return (sel: string) => document.querySelector(sel)?.textContent ?? "";
}

afterEach(() => clearMocks());

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Mocks the commands, `answer` first (`undefined`: not its command), then
 * the dashboard's usual reads; returns the commands called, in order. */
function mockCommands(answer: (cmd: string) => unknown, board: () => Dashboard): string[] {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    const answered = answer(cmd);
    if (answered !== undefined) return answered;
    if (cmd === "dashboard") return board();
    if (cmd === "usage") return usage;
    if (cmd === "client_setup") return { endpoint: "http://127.0.0.1:4242", running: true, api_key: "k", api_key_source: "env" };
    throw new Error(`unexpected ${cmd}`);
  });
  return calls;
}

/** The dashboard in the document, after its first refresh. */
async function mounted(): Promise<void> {
  const view = dashboardView(() => undefined);
  document.body.replaceChildren(view.element);
  await view.refresh();
}

/** The dashboard of a running proxy whose ledger reports `u`, rendered. */
async function showUsage(u: Usage): Promise<void> {
  mockCommands((cmd) => (cmd === "usage" ? u : undefined), () => dashboard({ state: "running", port: 4242, requested_port: 4242 }));
  await mounted();
  await settle();
}

describe("dashboard", () => {
  it("renders models, tiers, spend and recent requests from the commands", async () => {
    mockIPC((cmd) => {
      if (cmd === "dashboard") return dashboard({ state: "running", port: 4243, requested_port: 4242 });
      if (cmd === "usage") return usage;
      if (cmd === "client_setup") return { endpoint: "http://127.0.0.1:4243", running: true, api_key: "sk-clawrouter-0123456789abcdefWXYZ", api_key_source: "keychain" };
      throw new Error(`unexpected ${cmd}`);
    });
    const view = dashboardView(() => undefined);
    document.body.replaceChildren(view.element);
    await view.refresh();
    await settle();
    const text = (sel: string) => document.querySelector(sel)?.textContent ?? "";
    expect(text("#proxy-status")).toBe("Running on 127.0.0.1:4243");
    expect(text("#proxy-detail")).toContain("Port 4242 was taken");
    expect(text("#models-table tbody")).toContain("Claude Haiku");
    expect(text("#models-table tbody")).toContain("Healthy · 4 ok");
    // Health: error rate and p95 latency per model.
    expect(text('#models-table tr[data-model="bedrock/haiku"] .error-rate')).toBe("0%");
    expect(text('#models-table tr[data-model="bedrock/haiku"] .p95')).toBe("200 ms");
    // Lifecycle and availability on Bedrock, as `auto` sees them.
    expect(text('#models-table tr[data-model="bedrock/haiku"] .lifecycle')).toBe("Active");
    expect(text('#models-table tr[data-model="bedrock/sonnet-4"] .lifecycle')).toBe("Not available: reached end of life on Bedrock on 2026-10-14");
    expect(text("#spend-today")).toContain("$0.50");
    expect(text("#spend-today")).toContain("50% of the $1.00 daily budget");
    expect(document.querySelectorAll(".chart rect")).toHaveLength(1);
    expect(text("#recent-table tbody")).toContain("curl/8");
    // A request row tells its story: asked for, served by, tier and why.
    const row = document.querySelector("#recent-table tbody tr") as HTMLElement;
    expect(row.querySelector(".requested")?.textContent).toBe("auto");
    expect(row.querySelector(".served")?.textContent).toBe("Claude Haiku");
    expect(row.querySelector(".chip")?.textContent).toBe("Low");
    expect(row.querySelector(".reason")?.textContent).toBe("greeting or heartbeat → low tier");
    expect(text("#endpoint")).toBe("http://127.0.0.1:4243");
    expect(text("#api-key")).not.toContain("0123456789abcdef");
    expect(text("#snippet-claude-code")).toContain("ANTHROPIC_BASE_URL=http://127.0.0.1:4243");
  });

  it("shows what routing and caching saved, spend per client and the cache-hit gauges", async () => {
    await showUsage(usage);
    const cells = (sel: string) => [...document.querySelectorAll(`${sel} td`)].map((td) => td.textContent);
    expect(cells("#spent-row")).toEqual(["$0.50", "$2.00", "$9.00"]);
    expect(cells("#routing-saved-row")).toEqual(["$1.25", "$6.00", "$30.00"]);
    expect(cells("#cache-saved-row")).toEqual(["$0.20", "$0.75", "$3.00"]);
    // Today 1,200 of 1,600 input tokens came from cache: 75%; this week 60%.
    const today = document.querySelector("#cache-gauge-today") as HTMLElement;
    expect(today.getAttribute("aria-valuenow")).toBe("75");
    expect(today.querySelector(".gauge-value")?.textContent).toBe("75%");
    expect(today.textContent).toContain("1.2k of 1.6k input tokens");
    const week = document.querySelector("#cache-gauge-7d") as HTMLElement;
    expect(week.getAttribute("aria-valuenow")).toBe("60");
    // The ring's drawn arc is that share of its circumference.
    const [drawn, gap] = (week.querySelector("circle.fill")?.getAttribute("stroke-dasharray") ?? "").split(" ").map(Number);
    expect(drawn / (drawn + gap)).toBeCloseTo(0.6, 3);
    const clients = [...document.querySelectorAll("#client-table tbody tr")].map((tr) => tr.getAttribute("data-client"));
    expect(clients).toEqual(["Claude Code", "curl"]);
    expect(cells('#client-table tr[data-client="Claude Code"]')).toEqual(["Claude Code", "$0.40", "$1.50", "$7.00", "12"]);
  });

  it("says so when no input has been seen, with an empty gauge", async () => {
    const quiet = { ...usage, summary: { ...usage.summary, per_client: [], periods: { ...usage.summary.periods, today: period(0, 0, 0, 0, 0, 0) } } };
    quiet.summary.periods.today.cache_read_share = 0;
    await showUsage(quiet);
    const today = document.querySelector("#cache-gauge-today") as HTMLElement;
    expect(today.getAttribute("aria-valuenow")).toBe("0");
    expect(today.textContent).toContain("no input yet");
    expect(document.querySelector("#spend-by-client")?.textContent).toContain("No requests recorded yet.");
  });

  it("starts the proxy when Start is pressed and shows the new status", async () => {
    let status: ProxyStatus = { state: "stopped" };
    const calls = mockCommands(
      (cmd) => (cmd === "start_proxy" ? (status = { state: "running", port: 4242, requested_port: 4242 }) : undefined),
      () => dashboard(status),
    );
    await mounted();
    (document.querySelector("#start-proxy") as HTMLButtonElement).click();
    await settle();
    expect(calls).toContain("start_proxy");
    expect(document.querySelector("#proxy-status")?.textContent).toBe("Running on 127.0.0.1:4242");
    expect(document.querySelector("#stop-proxy")).not.toBeNull();
  });

  it("says where auto sends a tier's requests while it has no usable model", async () => {
    const sonnet = { name: "bedrock/sonnet", display: "Claude Sonnet", profile_id: "us.sonnet", cost: "$3/M", status: "healthy", lifecycle: "active", available: true, unavailable_reason: null } as const;
    mockDashboard({
      dashboard: {
        tiers: [
          { tier: "low", chosen: null, fallback: { tier: "mid", model: "bedrock/sonnet", display: "Claude Sonnet" }, candidates: [{ name: "bedrock/haiku", display: "Claude Haiku", profile_id: "us.haiku", cost: "$1/M", status: "unhealthy", lifecycle: "active", available: true, unavailable_reason: null }] },
          { tier: "mid", chosen: "bedrock/sonnet", fallback: null, candidates: [sonnet] },
        ],
      },
    });
    const text = await rendered();
    expect(text('.tier[data-tier="low"] .tier-chosen')).toBe("no usable model");
    expect(text('.tier[data-tier="low"] .tier-instead')).toBe("Meanwhile auto sends these requests to Claude Sonnet (Mid tier).");
    expect(text('.tier[data-tier="mid"] .tier-chosen')).toBe("Claude Sonnet");
    expect(document.querySelector('.tier[data-tier="mid"] .tier-instead')).toBeNull();
  });

  it("counts requests refused before reaching a model", async () => {
    mockDashboard({ dashboard: { rejected: { unauthorized: 2, budget: 1, guard: 0 } } });
    const text = await rendered();
    expect(text("#rejected")).toBe(
      "3 requests were refused before reaching a model: 2 with a missing or wrong client key (401), 1 over budget (429).",
    );
  });

  it("says when nothing was refused", async () => {
    mockDashboard();
    const text = await rendered();
    expect(text("#rejected")).toBe("No requests were refused.");
  });

  it("labels demo data, and only demo data", async () => {
    mockDashboard({ usage: { demo: true } });
    await rendered();
    expect([...document.querySelectorAll(".demo-badge")].map((b) => b.textContent)).toEqual(["Demo data", "Demo data"]);
    mockDashboard();
    await rendered();
    expect(document.querySelector(".demo-badge")).toBeNull();
  });

  it("explains a missing keychain, says where the key is, and retries", async () => {
    let fallback: ClientSetup["keychain_fallback"] = { key_file: "/home/u/.config/clawrouter/client-api-key", reason: "no D-Bus session bus" };
    const calls = mockDashboard({ setup: () => ({ ...setup, api_key_source: "file", keychain_fallback: fallback }) });
    const text = await rendered();
    const banner = document.querySelector("#keychain-banner") as HTMLElement;
    expect(banner.hidden).toBe(false);
    expect(text("#keychain-banner")).toContain("No OS keychain is available");
    expect(text("#keychain-detail")).toContain("/home/u/.config/clawrouter/client-api-key");
    expect(text("#keychain-detail")).toContain("no D-Bus session bus");
    // The user unlocks a keychain and presses Retry: the banner goes.
    fallback = null;
    const before = calls.filter((c) => c === "client_setup").length;
    (document.querySelector("#keychain-retry") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c === "client_setup").length).toBe(before + 1);
    expect(banner.hidden).toBe(true);
  });

  it("has no keychain banner while the keychain works", async () => {
    mockDashboard();
    await rendered();
    expect((document.querySelector("#keychain-banner") as HTMLElement).hidden).toBe(true);
  });

  it("Refresh asks Bedrock again through the engine and shows the new availability", async () => {
    let denied = false;
    const calls = mockCommands(
      (cmd) => {
        if (cmd !== "refresh_models") return undefined;
        denied = true;
        return { fetched_at: "2026-11-30T19:00:00Z", region: "us-east-1" };
      },
      () => {
        const d = dashboard({ state: "running", port: 4242, requested_port: 4242 });
        if (denied) d.models[0] = { ...d.models[0], available: false, unavailable_reason: "this AWS account has no access to us.haiku on Bedrock" };
        return d;
      },
    );
    await mounted();
    const lifecycle = () => document.querySelector('#models-table tr[data-model="bedrock/haiku"] .lifecycle')?.textContent;
    expect(lifecycle()).toBe("Active");
    calls.length = 0;
    (document.querySelector("#refresh-models") as HTMLButtonElement).click();
    await settle();
    // Bedrock is asked first, then the dashboard is read again.
    expect(calls[0]).toBe("refresh_models");
    expect(calls).toContain("dashboard");
    expect(lifecycle()).toBe("Not available: this AWS account has no access to us.haiku on Bedrock");
    expect(document.querySelector("#models-note")?.textContent).toContain("in us-east-1");
    expect((document.querySelector("#refresh-models") as HTMLButtonElement).disabled).toBe(false);
  });

  it("a failed Refresh says why in a plain sentence and keeps the table", async () => {
    const sentence = "asking Bedrock which models this account can call failed: no AWS credentials could be loaded; `clawrouter check` shows where ClawRouter looked and how to fix it";
    mockCommands(
      (cmd) => {
        if (cmd === "refresh_models") throw { message: sentence, fields: [] };
        return undefined;
      },
      () => dashboard({ state: "stopped" }),
    );
    await mounted();
    (document.querySelector("#refresh-models") as HTMLButtonElement).click();
    await settle();
    const note = document.querySelector("#models-note");
    expect(note?.textContent).toBe(sentence);
    expect(note?.classList.contains("error")).toBe(true);
    expect(document.querySelector("#models-table tbody")?.textContent).toContain("Claude Haiku");
  });

  it("re-renders on an event the engine pushes, with no timer, and not while hidden", async () => {
    const intervals = vi.spyOn(globalThis, "setInterval");
    const scroll = vi.spyOn(window, "scrollTo").mockImplementation(() => undefined);
    let spentToday = 0.5;
    const calls: string[] = [];
    mockIPC(
      (cmd) => {
        calls.push(cmd);
        if (cmd === "dashboard") return dashboard({ state: "stopped" });
        if (cmd === "usage") return { ...usage, summary: { ...usage.summary, total: { ...usage.summary.total, today_usd: spentToday } } };
        if (cmd === "proxy_status") return { state: "stopped" };
        if (cmd === "client_setup") return { endpoint: "http://127.0.0.1:4242", running: false, api_key: "k", api_key_source: "env", keychain_fallback: null };
        throw new Error(`unexpected ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const root = document.createElement("div");
    document.body.replaceChildren(root);
    mount(root);
    await settle();
    const today = () => document.querySelector("#spend-today")?.textContent ?? "";
    expect(today()).toContain(usd(0.5));

    // A request was recorded: the engine pushes a ledger event, the view re-reads.
    spentToday = 2.25;
    await emit("engine", { source: "usage", event: { kind: "changed" } });
    await settle();
    expect(today()).toContain(usd(2.25));

    // Hidden: an event costs no command; showing the window catches up.
    const hidden = vi.spyOn(document, "hidden", "get").mockReturnValue(true);
    const before = calls.length;
    spentToday = 3.5;
    await emit("engine", { source: "health", event: { profile_id: "us.haiku", status: "unhealthy", problem: "throttled" } });
    await settle();
    expect(calls.length).toBe(before);
    expect(today()).toContain(usd(2.25));
    hidden.mockReturnValue(false);
    document.dispatchEvent(new Event("visibilitychange"));
    await settle();
    expect(today()).toContain(usd(3.5));

    expect(intervals).not.toHaveBeenCalled();
    hidden.mockRestore();
    scroll.mockRestore();
    intervals.mockRestore();
  });
});

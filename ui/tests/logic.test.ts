import { describe, expect, it } from "vitest";
import type { CheckReport, ModelHealth, RequestRow, Settings } from "../src/api";
import { gaugeArc, niceCeiling, spendChart } from "../src/chart";
import { budgetWords, checkWords, errorRate, healthWords, problemWords, proxyWords, routeReason, tokens, usd } from "../src/format";
import { errorsByField, formValues, readForm } from "../src/settingsForm";
import { maskKey, snippets } from "../src/snippets";

const SETTINGS: Settings = {
  port: 4242, region: null, geography: null, aws_profile: null, start_proxy_on_launch: true, start_on_login: false,
  show_tier_prefix: false, auto_cache: true, budgets: { daily_usd: null, monthly_usd: null }, allowed_origins: ["http://localhost:3000"],
  max_body_bytes: 1, upstream_timeout_secs: 300, stream_idle_timeout_secs: 60,
};

describe("proxy status words", () => {
  it("says when the configured port was taken", () => {
    const w = proxyWords({ state: "running", port: 4243, requested_port: 4242 });
    expect(w.headline).toBe("Running on 127.0.0.1:4243");
    expect(w.detail).toContain("Port 4242 was taken");
    expect(proxyWords({ state: "running", port: 4242, requested_port: 4242 }).detail).not.toContain("taken");
    expect(proxyWords({ state: "error", message: "keychain locked" })).toMatchObject({ tone: "bad", detail: "keychain locked" });
  });
});

describe("health and errors in plain words", () => {
  const h = (over: Partial<ModelHealth>): ModelHealth => ({
    profile_id: "p", status: "unknown", last_error: null, problem: null, advice: null, last_success: null, p50_ms: null, p95_ms: null, successes: 0, failures: 0, ...over,
  });
  const throttled = { problem: "throttled", advice: "Bedrock is throttling (requests or tokens per minute); `auto` tries the next model of the tier meanwhile." } as const;
  it("describes each status", () => {
    expect(healthWords(h({}))).toBe("No requests yet");
    expect(healthWords(h({ status: "healthy", successes: 3 }))).toBe("Healthy · 3 ok");
    expect(healthWords(h({ status: "unhealthy", successes: 1, failures: 2, last_error: "Bedrock is throttling requests: Too many requests", ...throttled }))).toMatch(/^Failing: Bedrock is throttling \(requests.*\(1 ok, 2 failed\)$/);
  });
  it("says what to do from the engine's advice, else the error", () => {
    expect(problemWords(h({ last_error: "x", ...throttled }))).toContain("next model of the tier");
    expect(problemWords(h({ last_error: "weird" }))).toBe("weird");
    expect(problemWords(h({}))).toBe("unknown error");
  });
  it("gives the error rate", () => {
    expect(errorRate(h({}))).toBe("—");
    expect(errorRate(h({ successes: 3, failures: 1 }))).toBe("25%");
    expect(errorRate(h({ successes: 999, failures: 1 }))).toBe("<1%");
  });
  it("summarises a connection check", () => {
    const report: CheckReport = {
      ok: false, region: "us-east-1", endpoint: "x", credentials_source: { profile: "dev" }, credentials_status: "loaded", credentials_problem: null, api_key_source: "keychain", api_key_error: null,
      models: [
        { name: "a", profile_id: "a", health: h({ status: "healthy", successes: 1 }) },
        { name: "b", profile_id: "b", health: h({ status: "unhealthy", failures: 1, last_error: "Bedrock denied access: no", problem: "access-denied", advice: "AWS refused access: the IAM policy must allow bedrock:InvokeModel on this model, and the model must be enabled in the Bedrock console." }) },
      ],
    };
    const lines = checkWords({ check: report, credentials_from: "AWS profile 'dev'", tiers: [] });
    expect(lines[0]).toEqual({ ok: true, text: "AWS credentials found: AWS profile 'dev'." });
    expect(lines.find((l) => l.text.startsWith("1 of 2 models"))?.ok).toBe(false);
    expect(lines.at(-1)?.text).toMatch(/^b: AWS refused access/);
    const problem = { summary: "no AWS credentials found", tried: ["keys saved in ClawRouter", "~/.aws profile 'default'"], fix: "run `aws configure`" };
    const none = checkWords({ check: { ...report, credentials_source: null, credentials_status: problem.summary, credentials_problem: problem }, credentials_from: null, tiers: [] });
    expect(none.map((l) => l.text)).toEqual([
      "No AWS credentials found.",
      "Looked at: keys saved in ClawRouter, ~/.aws profile 'default'.",
      "Fix: run `aws configure`.",
      "Region us-east-1.",
    ]);
    expect(none.slice(0, 3).every((l) => !l.ok)).toBe(true);
  });
});

describe("numbers", () => {
  it("formats money, tokens and budgets", () => {
    expect(usd(0)).toBe("$0.00");
    expect(usd(0.0042)).toBe("$0.0042");
    expect(usd(12.345)).toBe("$12.35");
    expect(tokens(999)).toBe("999");
    expect(tokens(1234)).toBe("1.2k");
    expect(tokens(2_500_000)).toBe("2.5M");
    expect(budgetWords(1, null, "daily")).toBeNull();
    expect(budgetWords(1, 4, "daily")).toBe("25% of the $4.00 daily budget");
    expect(budgetWords(5, 4, "monthly")).toContain("requests are refused");
  });
  it("scales the chart to a round maximum", () => {
    expect([0, 0.3, 1, 1.2, 4, 7, 99].map(niceCeiling)).toEqual([0, 0.5, 1, 2, 5, 10, 100]);
    const c = spendChart([{ date: "2026-11-24", usd: 1, requests: 2 }, { date: "2026-11-25", usd: 2, requests: 1 }], 100, 50);
    expect(c.max).toBe(2);
    expect(c.bars[1]).toMatchObject({ y: 0, height: 50, label: "11-25" });
    expect(c.bars[0].height).toBe(25);
    expect(c.bars[0].title).toBe("2026-11-24: $1.00 · 2 requests");
    expect(spendChart([{ date: "2026-11-25", usd: 0, requests: 0 }], 100, 50).ticks).toEqual([]);
  });
});

describe("settings form", () => {
  it("round-trips loaded settings and keeps fields it does not show", () => {
    const read = readForm(formValues(SETTINGS, false), SETTINGS);
    expect(read.settings).toEqual(SETTINGS);
    expect(read.keys).toBeNull();
    expect(read.local).toEqual([]);
  });
  it("reads typed values, keys only when typed, and flags non-numbers", () => {
    const v = { ...formValues(SETTINGS, false), port: "80a", daily_usd: "2.5", region: " eu-west-1 ", access_key_id: " AKIA123 ", secret_access_key: "s" };
    const read = readForm(v, SETTINGS);
    expect(read.local).toEqual([{ field: "port", message: "must be a whole number" }]);
    expect(read.settings.port).toBe(4242);
    expect(read.settings.budgets.daily_usd).toBe(2.5);
    expect(read.settings.region).toBe("eu-west-1");
    expect(read.keys).toEqual({ access_key_id: "AKIA123", secret_access_key: "s", session_token: null });
    expect(readForm({ ...v, mode: "profile", aws_profile: "dev" }, SETTINGS)).toMatchObject({ keys: null, settings: { aws_profile: "dev" } });
    // Automatic prompt caching can be switched off (it is on in SETTINGS).
    expect(readForm({ ...v, auto_cache: false }, SETTINGS).settings.auto_cache).toBe(false);
  });
  it("starts in profile mode only when a profile is set and no keys are saved", () => {
    const withProfile = { ...SETTINGS, aws_profile: "dev" };
    expect(formValues(withProfile, false).mode).toBe("profile");
    expect(formValues(withProfile, true).mode).toBe("keys");
  });
  it("shows the first message per field", () => {
    const m = errorsByField([{ field: "port", message: "local" }], [{ field: "port", message: "engine" }, { field: "region", message: "r" }]);
    expect([...m]).toEqual([["port", "local"], ["region", "r"]]);
  });
});

describe("client snippets", () => {
  it("use the live endpoint and key everywhere", () => {
    const all = snippets("http://127.0.0.1:4243", "sk-test-key");
    expect(all.map((s) => s.id)).toEqual(["claude-code", "continue", "codex", "aider", "openclaw", "curl"]);
    for (const s of all) {
      expect(s.code).toContain("http://127.0.0.1:4243");
      expect(s.code).toContain("sk-test-key");
      expect(s.code).not.toContain("4242");
    }
    expect(all[0].code).toContain("ANTHROPIC_BASE_URL=http://127.0.0.1:4243\n");
    expect(all[0].code).toContain("export ANTHROPIC_MODEL=auto\n");
    expect(all[1].code).toContain("apiBase: http://127.0.0.1:4243/v1");
    // Continue reads secrets from ~/.continue/.env, not from the shell.
    expect(all[1].code).toContain("apiKey: ${{ secrets.CLAWROUTER_KEY }}");
    expect(all[1].code).toContain("CLAWROUTER_KEY=sk-test-key");
  });
  it("masks the key", () => {
    expect(maskKey("sk-clawrouter-abcdefghijklmnopqrstuvwxyz")).toBe("sk-clawrouter-…wxyz");
    expect(maskKey("short")).toBe("•••••");
  });
});

describe("request rows", () => {
  const row = (over: Partial<RequestRow>): RequestRow => ({
    at_ms: 0, client: "c", route: "/v1/chat/completions", requested_model: "auto", tier: "mid", category: "lookup", model: "bedrock/s", profile_id: "p",
    usage: { input: 0, output: 0, cache_read: 0, cache_write: 0 }, cost_usd: 0, top_tier_cost_usd: 0, cache_saved_usd: 0, latency_ms: 1, ttft_ms: null, status: 200, error_kind: null, ...over,
  });
  it("say why a request went where it did", () => {
    expect(routeReason(row({ reason: "lookup; tools present → at least mid" }))).toBe("lookup; tools present → at least mid");
    expect(routeReason(row({}))).toBe("auto: lookup → Mid tier");
    expect(routeReason(row({ tier: null, category: null, requested_model: "claude-opus-4-6" }))).toBe("named model: served as asked, no tier routing");
  });
});

describe("gaugeArc", () => {
  it("draws the share of the circumference and rounds the percentage", () => {
    const c = 2 * Math.PI * 10;
    const arc = gaugeArc(0.25, 10);
    const [drawn, gap] = arc.dash.split(" ").map(Number);
    expect(drawn).toBeCloseTo(c / 4, 2);
    expect(drawn + gap).toBeCloseTo(c, 2);
    expect(arc.percent).toBe(25);
    expect(gaugeArc(0.996, 10).percent).toBe(100);
    // Out of range or not a number: clamped, never a broken arc.
    expect(gaugeArc(1.5, 10).percent).toBe(100);
    expect(gaugeArc(-1, 10).percent).toBe(0);
    expect(gaugeArc(Number.NaN, 10).percent).toBe(0);
  });
});

// Pure presentation: numbers, statuses and reports in plain words.
import type { ConnectionReport, HealthStatus, KeychainFallback, ModelHealth, ModelRow, Price, ProxyStatus, RejectionCounts, RequestRow, Tier, TierView } from "./api";

export function usd(n: number): string {
  if (n === 0) return "$0.00";
  if (Math.abs(n) < 0.01) return `$${n.toFixed(4)}`;
  return `$${n.toFixed(2)}`;
}

export function perMillion(price: Price): string {
  const p = (n: number) => `$${n % 1 === 0 ? n.toFixed(0) : n.toFixed(2)}`;
  return `${p(price.input)} in · ${p(price.output)} out`;
}

export function ms(n: number | null): string {
  if (n === null) return "—";
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n} ms`;
}

export const TIER_LABEL: Record<Tier, string> = { low: "Low", mid: "Mid", top: "Top" };

/** Headline and detail for the proxy status. */
export function proxyWords(status: ProxyStatus): { tone: "ok" | "idle" | "busy" | "bad"; headline: string; detail: string } {
  switch (status.state) {
    case "running":
      return {
        tone: "ok",
        headline: `Running on 127.0.0.1:${status.port}`,
        detail:
          status.port === status.requested_port
            ? "Your tools can connect now."
            : `Port ${status.requested_port} was taken, so ClawRouter is using ${status.port}. Point your tools at the new port.`,
      };
    case "starting":
      return { tone: "busy", headline: "Starting…", detail: `Opening 127.0.0.1:${status.requested_port}.` };
    case "stopped":
      return { tone: "idle", headline: "Stopped", detail: "Start the proxy to let your tools reach Claude." };
    case "error":
      return { tone: "bad", headline: "Could not start", detail: status.message };
  }
}

export function healthTone(status: HealthStatus): "ok" | "bad" | "idle" {
  return status === "healthy" ? "ok" : status === "unhealthy" ? "bad" : "idle";
}

/** Share of recorded requests that failed, e.g. "25%"; "—" with none. */
export function errorRate(h: ModelHealth): string {
  const total = h.successes + h.failures;
  if (total === 0) return "—";
  const pct = (h.failures / total) * 100;
  return `${pct > 0 && pct < 1 ? "<1" : Math.round(pct)}%`;
}

/** One line about a model's health, in plain words. */
/** Lifecycle and availability on Bedrock, in words: "Active", "Legacy",
 * or why `auto` will not use it ("Not available: reached end of life …"). */
export function lifecycleWords(m: ModelRow): string {
  if (!m.available) return `Not available: ${m.unavailable_reason ?? "unknown reason"}`;
  return m.lifecycle === "legacy" ? "Legacy" : m.lifecycle === "eol" ? "End of life" : "Active";
}

export function healthWords(h: ModelHealth): string {
  if (h.status === "unknown") return "No requests yet";
  const counts = `${h.successes} ok${h.failures ? `, ${h.failures} failed` : ""}`;
  if (h.status === "unhealthy") return `Failing: ${problemWords(h)} (${counts})`;
  return `Healthy · ${counts}`;
}

/** What went wrong with a model and what to do: the engine's advice for the
 * kind of failure (no credentials, access denied, throttled, network, model
 * retired, …), else its error message. */
export function problemWords(h: ModelHealth): string {
  return h.advice ?? h.last_error ?? "unknown error";
}

export interface CheckLine { ok: boolean; text: string }

/** What "Test connection" found, as sentences. */
export function checkWords({ check: report, credentials_from: from }: ConnectionReport): CheckLine[] {
  const lines: CheckLine[] = [];
  const problem = report.credentials_problem;
  if (report.credentials_status === "loaded") {
    lines.push({ ok: true, text: `AWS credentials found: ${from}.` });
  } else if (problem) {
    const summary = problem.summary.charAt(0).toUpperCase() + problem.summary.slice(1);
    lines.push({ ok: false, text: `${summary}.` });
    lines.push({ ok: false, text: `Looked at: ${problem.tried.join(", ")}.` });
    lines.push({ ok: false, text: `Fix: ${problem.fix}.` });
  } else {
    lines.push({ ok: false, text: `AWS credentials did not load: ${report.credentials_status}` });
  }
  if (report.api_key_error) lines.push({ ok: false, text: `The client key is unavailable: ${report.api_key_error}` });
  lines.push({ ok: true, text: `Region ${report.region}.` });
  if (report.credentials_status === "loaded") {
    const healthy = report.models.filter((m) => m.health.status === "healthy");
    const failing = report.models.filter((m) => m.health.status === "unhealthy");
    lines.push({
      ok: failing.length === 0 && healthy.length > 0,
      text: `${healthy.length} of ${report.models.length} models answer on Bedrock.`,
    });
    for (const m of failing) {
      lines.push({ ok: false, text: `${m.name}: ${problemWords(m.health)}` });
    }
  }
  return lines;
}

/** Why a request went where it did: the router's own words when the ledger
 * has them, else what the row says (a named model is not routed). */
export function routeReason(r: RequestRow): string {
  if (r.reason) return r.reason;
  if (!r.tier) return "named model: served as asked, no tier routing";
  return `${r.requested_model}: ${r.category ?? "request"} → ${TIER_LABEL[r.tier]} tier`;
}

/** "3 min ago" for a unix-seconds time. */
export function ago(unixSecs: number | null, nowMs: number = Date.now()): string {
  if (unixSecs === null) return "never";
  const s = Math.max(0, Math.round(nowMs / 1000 - unixSecs));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** 1.2k, 3.4M: token counts at a glance. */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** "42% of the $5.00 daily budget", or null with no budget. */
export function budgetWords(spent: number, limit: number | null, period: "daily" | "monthly"): string | null {
  if (limit === null || limit <= 0) return null;
  const pct = Math.round((spent / limit) * 100);
  if (spent >= limit) return `over the ${usd(limit)} ${period} budget: requests are refused`;
  return `${pct}% of the ${usd(limit)} ${period} budget`;
}

/** Local time of day for today, else the date and time. */
export function clock(atMs: number, nowMs: number = Date.now()): string {
  const d = new Date(atMs);
  const sameDay = new Date(nowMs).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

/** A tier's head: the model `auto` uses in it, or `none` and where its
 * requests go meanwhile (the router moves up a tier, then down). */
export function tierWords(t: TierView, none: string): { model: string; instead: string | null } {
  if (t.chosen) return { model: t.candidates.find((c) => c.name === t.chosen)?.display ?? t.chosen, instead: null };
  if (t.fallback) return { model: none, instead: `Meanwhile auto sends these requests to ${t.fallback.display} (${TIER_LABEL[t.fallback.tier]} tier).` };
  return { model: none, instead: "No other tier has a usable model either: these requests fail until one is usable." };
}

/** Where `auto` sends `tier`'s requests while it has no usable model. */
export function insteadOf(tiers: TierView[], tier: Tier): string | null {
  const view = tiers.find((v) => v.tier === tier);
  return view ? tierWords(view, "none answered").instead : null;
}

/** Requests refused before reaching a model, in words; null when there were none. */
export function rejectedWords(r: RejectionCounts): string | null {
  const parts = [
    [r.unauthorized, "with a missing or wrong client key (401)"],
    [r.budget, "over budget (429)"],
    [r.guard, "blocked by the Host/Origin guard (403)"],
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, why]) => `${n} ${why}`);
  if (said.length === 0) return null;
  const total = r.unauthorized + r.budget + r.guard;
  return `${total} ${total === 1 ? "request was" : "requests were"} refused before reaching a model: ${said.join(", ")}.`;
}

/** The no-keychain banner: what happened, where the key is, what to do. */
export function keychainWords(f: KeychainFallback): { headline: string; detail: string } {
  return {
    headline: "No OS keychain is available",
    detail:
      `ClawRouter keeps your client API key in ${f.key_file} (readable only by you) and runs without it. ` +
      "AWS keys cannot be saved here: they come from your environment or ~/.aws profile. " +
      `To use the keychain, start or unlock one (e.g. gnome-keyring), then press Retry. (${f.reason})`,
  };
}

// Pure presentation: numbers, statuses and reports in plain words.
import type { ConnectionReport, HealthStatus, ModelHealth, Price, ProxyStatus, Tier } from "./api";

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

/** One line about a model's health, in plain words. */
export function healthWords(h: ModelHealth): string {
  if (h.status === "unknown") return "No requests yet";
  const counts = `${h.successes} ok${h.failures ? `, ${h.failures} failed` : ""}`;
  if (h.status === "unhealthy") return `Failing: ${plainError(h.last_error)} (${counts})`;
  return `Healthy · ${counts}`;
}

/** Upstream errors as a person would say them. */
export function plainError(error: string | null): string {
  if (!error) return "unknown error";
  const e = error.toLowerCase();
  if (e.includes("throttl") || e.includes("too many")) return "Bedrock is throttling requests (too many at once); it will retry on another model";
  if (e.includes("access denied") || e.includes("accessdenied") || e.includes("not authorized"))
    return "AWS refused access: check that the keys' IAM policy allows bedrock:InvokeModel and that the model is enabled in the Bedrock console";
  if (e.includes("security token") || e.includes("signature") || e.includes("expired"))
    return "AWS did not accept the credentials (wrong or expired keys)";
  if (e.includes("timed out") || e.includes("timeout")) return "Bedrock did not answer in time";
  if (e.includes("connect") || e.includes("dns") || e.includes("dispatch")) return "cannot reach Bedrock (network or endpoint problem)";
  return error;
}

export interface CheckLine { ok: boolean; text: string }

/** What "Test connection" found, as sentences. */
export function checkWords({ check: report, credentials_from: from }: ConnectionReport): CheckLine[] {
  const lines: CheckLine[] = [];
  const credsOk = report.credentials_status === "loaded";
  lines.push(
    credsOk
      ? { ok: true, text: `AWS credentials found: ${from}.` }
      : {
          ok: false,
          text:
            from === null
              ? `No AWS credentials found: ${report.credentials_status}`
              : `AWS credentials from ${from} did not load: ${report.credentials_status}`,
        },
  );
  if (report.api_key_error) lines.push({ ok: false, text: `The client key is unavailable: ${report.api_key_error}` });
  lines.push({ ok: true, text: `Region ${report.region}.` });
  if (credsOk) {
    const healthy = report.models.filter((m) => m.health.status === "healthy");
    const failing = report.models.filter((m) => m.health.status === "unhealthy");
    lines.push({
      ok: failing.length === 0 && healthy.length > 0,
      text: `${healthy.length} of ${report.models.length} models answer on Bedrock.`,
    });
    for (const m of failing) {
      lines.push({ ok: false, text: `${m.name}: ${plainError(m.health.last_error)}.` });
    }
  }
  return lines;
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

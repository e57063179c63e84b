// The daily-spend bar chart as plain geometry (then drawn as SVG).
import type { DaySpend } from "./api";

export interface Bar { x: number; y: number; width: number; height: number; label: string; title: string }
export interface Chart { bars: Bar[]; max: number; ticks: { y: number; label: string }[] }

/** Bars for `days` in a `width`×`height` box; the top is a rounded-up max. */
export function spendChart(days: DaySpend[], width: number, height: number): Chart {
  const peak = Math.max(0, ...days.map((d) => d.usd));
  const max = niceCeiling(peak);
  const slot = days.length ? width / days.length : 0;
  const barWidth = Math.max(2, slot * 0.7);
  const bars = days.map((d, i) => {
    const h = max > 0 ? (d.usd / max) * height : 0;
    return {
      x: i * slot + (slot - barWidth) / 2,
      y: height - h,
      width: barWidth,
      height: h,
      label: d.date.slice(5),
      title: `${d.date}: $${d.usd.toFixed(2)} · ${d.requests} request${d.requests === 1 ? "" : "s"}`,
    };
  });
  const ticks = max > 0 ? [0, 0.5, 1].map((f) => ({ y: height - f * height, label: `$${(max * f).toFixed(max < 2 ? 2 : 0)}` })) : [];
  return { bars, max, ticks };
}

/** 1, 2, 5 × 10^n at or above `n` (0 stays 0). */
export function niceCeiling(n: number): number {
  if (n <= 0) return 0;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** A ring gauge's arc for `share` (0 to 1) of a circle of `radius`: the
 *  stroke dash that draws it and its rounded percentage. */
export function gaugeArc(share: number, radius: number): { dash: string; percent: number } {
  const clamped = Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
  const circumference = 2 * Math.PI * radius;
  const drawn = clamped * circumference;
  return { dash: `${drawn.toFixed(2)} ${(circumference - drawn).toFixed(2)}`, percent: Math.round(clamped * 100) };
}

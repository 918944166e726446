/** Number and time formatting for the dashboard: short, stable widths, "–" for no value. */

export const NONE = "–";

/** A rate or count: integers as they are (with separators), small fractions to one decimal. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(1);
}

/** A latency: "0.42 ms", "12.3 ms", "245 ms", "1.25 s". */
export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${Math.round(value)} ms`;
  if (value >= 1) return `${value.toFixed(1)} ms`;
  if (value === 0) return "0 ms";
  return `${value.toFixed(2)} ms`;
}

/** An uptime: "42 s", "5 min 3 s", "3 h 12 min", "2 d 4 h". */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A share as a percentage with one decimal: "33.3%". */
export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return NONE;
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/** Wall-clock time of day, "14:03:27". */
export function formatClock(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString("en-GB", { hour12: false });
}

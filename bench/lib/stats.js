/** Small numeric and formatting helpers shared by the benches. */

/** The q-quantile (0..1) of `values` by nearest rank on a sorted copy. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >>> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A number with `digits` decimals, or "—" when it is not finite. */
export function fixed(value, digits = 1) {
  return Number.isFinite(value) ? value.toFixed(digits) : "—";
}

/** Requests per second as "13.8k". */
export function kilo(value) {
  if (!Number.isFinite(value)) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
}

/** A ratio as "0.31", or "—". */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : "—";
}

/** A Markdown table: `headers` is an array of strings, `rows` an array of arrays of cells. */
export function markdownTable(headers, rows) {
  const lines = [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** A number with its unit, or "—" alone. */
export function withUnit(value, digits, unit) {
  return Number.isFinite(value) ? `${fixed(value, digits)}${unit}` : "—";
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** A duration as load generators print it ("456.00us", "1.23ms", "2.00s", "1.00m") → ms; NaN otherwise. */
export function durationMs(text) {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]] : Number.NaN;
}

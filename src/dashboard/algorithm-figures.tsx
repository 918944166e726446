/**
 * What the pool's algorithm reports about itself, from the live snapshot:
 * ALPHA1's adaptive β and γ, its p99 against the target and its hedging
 * (rate against the budget); BETA1's cache hit rate, warm-up progress and
 * bounded-load redirects; any other algorithm's figures as plain key/values.
 */
import type { Alpha1Stats } from "../algorithms/alpha1.js";
import type { Beta1Figures } from "../algorithms/beta1.js";
import { formatMs, formatNumber, NONE } from "./format.js";

type Row = [label: string, value: string];

/** Rows shown at most for an algorithm the dashboard does not know. */
const MAX_GENERIC_ROWS = 12;

export function AlgorithmFigures({ algorithm, metrics }: { algorithm: string; metrics: object | null }) {
  if (!metrics) return <p class="muted small">This algorithm reports no figures of its own.</p>;
  const rows =
    algorithm === "alpha1"
      ? alpha1Rows(metrics as Alpha1Stats)
      : algorithm === "beta1"
        ? beta1Rows(metrics as Beta1Figures)
        : genericRows(metrics);
  return (
    <dl class="algorithm-figures" data-testid="algorithm-figures">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function alpha1Rows(stats: Alpha1Stats): Row[] {
  const hedge = stats.hedge;
  return [
    ["β (interference)", stats.beta.toFixed(3)],
    ["γ (age)", stats.gamma.toFixed(3)],
    ["p99 now", formatMs(stats.p99Ms)],
    ["p99 target", formatMs(stats.targetP99Ms)],
    ["hedge rate", percent(hedge.rate)],
    ["hedge budget", hedge.enabled ? `${percent(hedge.budget)} (${hedge.tokens} ready)` : "hedging off"],
    ["hedge delay", formatMs(hedge.delayMs)],
    ["hedges won", percent(hedge.winRate)],
  ];
}

function beta1Rows(metrics: Beta1Figures): Row[] {
  const warming = metrics.warmingUp;
  return [
    ["cache hit rate", metrics.cacheLookups > 0 ? percent(metrics.cacheHitRate) : NONE],
    ["cached keys", formatNumber(metrics.cachedKeys)],
    [
      "warm-up",
      warming.length === 0
        ? "all warm"
        : warming.map((backend) => `${backend.id} ${percent(backend.progress)}`).join(", "),
    ],
    ["bounded-load redirects", formatNumber(metrics.boundedLoadRedirects)],
    ["hot keys", formatNumber(metrics.hotKeys.length)],
  ];
}

/** Numbers, strings and booleans, nested objects as dotted keys; lists by their length. */
function genericRows(metrics: object, prefix = ""): Row[] {
  const rows: Row[] = [];
  for (const [key, value] of Object.entries(metrics)) {
    const label = `${prefix}${key}`;
    if (typeof value === "number") rows.push([label, formatNumber(value)]);
    else if (typeof value === "string" || typeof value === "boolean") rows.push([label, String(value)]);
    else if (Array.isArray(value)) rows.push([label, `${value.length} entries`]);
    else if (value && typeof value === "object") rows.push(...genericRows(value, `${label}.`));
  }
  return rows.slice(0, MAX_GENERIC_ROWS);
}

function percent(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : NONE;
}

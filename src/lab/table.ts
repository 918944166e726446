/**
 * Plain-text comparison table of simulation results, one block per scenario:
 * latency percentiles, load spread, errors, retries, hedging and key
 * remapping, one row per algorithm, numbers right-aligned.
 */
import type { SimulationResult } from "./run-results.js";

interface Column {
  title: string;
  value: (result: SimulationResult) => string;
  left?: boolean;
}

const columns: readonly Column[] = [
  { title: "algorithm", value: (r) => r.algorithm, left: true },
  { title: "p50 ms", value: (r) => formatMs(r.latency.p50) },
  { title: "p95 ms", value: (r) => formatMs(r.latency.p95) },
  { title: "p99 ms", value: (r) => formatMs(r.latency.p99) },
  { title: "mean ms", value: (r) => formatMs(r.latency.mean) },
  { title: "max/mean", value: (r) => r.load.maxMeanRatio.toFixed(3) },
  { title: "load CV", value: (r) => r.load.cv.toFixed(3) },
  { title: "errors", value: (r) => String(r.errors) },
  { title: "retries", value: (r) => String(r.retries) },
  { title: "hedged %", value: (r) => r.hedgedPct.toFixed(1) },
  { title: "remapped %", value: (r) => (r.keysRemapped * 100).toFixed(1) },
];

/** Formats results as aligned text; results of several scenarios get one block each. */
export function formatTable(results: readonly SimulationResult[]): string {
  if (results.length === 0) return "(no results)\n";
  const blocks: string[] = [];
  for (const group of groupByScenario(results)) {
    const first = group[0] as SimulationResult;
    const header =
      `scenario ${first.scenario}: ${first.requests} requests at ${Math.round(first.arrivalRateRps)} req/s ` +
      `(${(first.durationMs / 1000).toFixed(1)} s simulated), seed ${first.seed}`;
    const rows = [
      columns.map((column) => column.title),
      ...group.map((r) => columns.map((column) => column.value(r))),
    ];
    const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
    const lines = rows.map((row) =>
      row
        .map((cell, i) =>
          columns[i]?.left ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
        )
        .join("  ")
        .trimEnd(),
    );
    lines.splice(1, 0, widths.map((width) => "-".repeat(width)).join("  "));
    blocks.push([header, ...lines].join("\n"));
  }
  return `${blocks.join("\n\n")}\n`;
}

/** Milliseconds with precision that suits the magnitude. */
export function formatMs(ms: number): string {
  if (ms < 10) return ms.toFixed(2);
  if (ms < 1000) return ms.toFixed(1);
  return Math.round(ms).toString();
}

export function groupByScenario(results: readonly SimulationResult[]): SimulationResult[][] {
  const groups = new Map<string, SimulationResult[]>();
  for (const result of results) {
    const group = groups.get(result.scenario);
    if (group) group.push(result);
    else groups.set(result.scenario, [result]);
  }
  return [...groups.values()];
}

/**
 * Self-contained HTML report of simulation results: per scenario, the
 * comparison table, latency percentiles per algorithm (bars, log scale), p99
 * over the run per algorithm (lines, episodes marked) and each algorithm's
 * share of traffic per backend. Inline CSS and SVG only: no script, no CDN,
 * so the file opens anywhere and can be attached to an issue.
 */
import type { SimulationResult } from "./metrics.js";
import { barChart, escapeHtml, lineChart } from "./svg-chart.js";
import { formatMs, groupByScenario } from "./table.js";

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d2430; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 40px; border-bottom: 1px solid #d8dde6; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 12px 0; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eef0f4; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f6f9; }
td.best { font-weight: 600; color: #0a7a35; }
.note { color: #5b6575; }
svg .title { font-size: 14px; font-weight: 600; fill: #1d2430; }
svg .tick, svg .legend { font-size: 11px; fill: #3c4656; }
svg .unit { font-size: 11px; fill: #5b6575; }
svg .grid { stroke: #eef0f4; } svg .axis { stroke: #8a94a6; }
svg .marker { stroke: #b0382f; stroke-dasharray: 4 3; }
`;

/** Renders `results` (one or more scenarios) as one HTML document. */
export function renderHtmlReport(
  results: readonly SimulationResult[],
  title = "Switchyard load lab",
): string {
  const sections = groupByScenario(results).map(renderScenario);
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    '<p class="note">Discrete-event simulation driving the real selection algorithms. Latency is client-visible ',
    "(arrival to response, queueing and retries included). Load spread (max/mean, CV) compares the attempts ",
    "routed to each backend, window by window, among the backends up for the whole window. Keys remapped: ",
    "share of keys whose serving backend differs between the scenario's before and after windows.</p>",
    ...sections,
    "</body></html>",
    "",
  ].join("\n");
}

function renderScenario(results: SimulationResult[]): string {
  const first = results[0] as SimulationResult;
  const algorithms = results.map((r) => r.algorithm);
  const timeline = first.timeline;
  const x = timeline.p99.map((_, i) => ((i + 0.5) * timeline.bucketMs) / 1000);
  const markers = first.events
    .filter((event) => event.kind !== "marked-down" && event.kind !== "marked-up")
    .map((event) => ({ x: event.atMs / 1000, label: `${event.backend} ${event.kind}` }));
  const backendIds = first.backends.map((b) => b.id);
  return [
    `<h2>Scenario ${escapeHtml(first.scenario)}</h2>`,
    `<p class="note">${first.requests} requests at ${Math.round(first.arrivalRateRps)} req/s ` +
      `(${(first.durationMs / 1000).toFixed(1)} s simulated), seed ${first.seed}.</p>`,
    renderTable(results),
    barChart({
      title: "Latency percentiles",
      categories: algorithms,
      series: [
        { name: "p50", values: results.map((r) => r.latency.p50) },
        { name: "p95", values: results.map((r) => r.latency.p95) },
        { name: "p99", values: results.map((r) => r.latency.p99) },
      ],
      unit: "ms (log)",
      log: true,
    }),
    lineChart({
      title: "p99 latency over the run (by arrival time)",
      x,
      xUnit: "s",
      series: results.map((r) => ({ name: r.algorithm, values: r.timeline.p99 })),
      unit: "ms (log)",
      log: true,
      markers,
    }),
    barChart({
      title: "Share of served requests per backend",
      categories: algorithms,
      series: backendIds.map((id) => ({
        name: id,
        values: results.map((r) => (r.backends.find((b) => b.id === id)?.share ?? 0) * 100),
      })),
      unit: "%",
    }),
    renderEvents(first),
  ].join("\n");
}

function renderTable(results: SimulationResult[]): string {
  const bestP99 = Math.min(...results.map((r) => r.latency.p99));
  const head = [
    "algorithm",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "mean ms",
    "max/mean",
    "load CV",
    "errors",
    "retries",
    "hedged %",
    "remapped %",
  ];
  const rows = results.map((r) => {
    const cells = [
      escapeHtml(r.algorithm),
      formatMs(r.latency.p50),
      formatMs(r.latency.p95),
      `<td${r.latency.p99 === bestP99 ? ' class="best"' : ""}>${formatMs(r.latency.p99)}`,
      formatMs(r.latency.mean),
      r.load.maxMeanRatio.toFixed(3),
      r.load.cv.toFixed(3),
      String(r.errors),
      String(r.retries),
      r.hedgedPct.toFixed(1),
      (r.keysRemapped * 100).toFixed(1),
    ];
    return `<tr>${cells.map((cell) => (cell.startsWith("<td") ? `${cell}</td>` : `<td>${cell}</td>`)).join("")}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function renderEvents(result: SimulationResult): string {
  if (result.events.length === 0) return "";
  const items = result.events.map(
    (event) =>
      `<li>${(event.atMs / 1000).toFixed(2)} s: ${escapeHtml(event.backend)} ${escapeHtml(event.kind)}</li>`,
  );
  return `<p class="note">Events (${escapeHtml(result.algorithm)} run; detection times differ per algorithm):</p><ul class="note">${items.join("")}</ul>`;
}

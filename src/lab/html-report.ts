/**
 * Self-contained HTML report of simulation results: per scenario, which
 * algorithms ran without an input the simulation lacks, the comparison
 * table, latency percentiles and p99 over the run per algorithm (uPlot
 * charts: hover values, legend toggles, episodes marked) and each
 * algorithm's share of traffic per backend (SVG). The chart script, uPlot
 * included, and the chart data are inline: no CDN, so the file opens
 * anywhere and can be attached to an issue; without JavaScript the table
 * still has every number.
 */
import type { ReportChart } from "./chart-data.js";
import type { ReportAssets } from "./report-assets.js";
import type { SimulationResult } from "./run-results.js";
import { barChart, escapeHtml } from "./svg-chart.js";
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
.fallbacks { border-left: 3px solid #c98a1b; padding-left: 10px; }
`;

/** Renders `results` (one or more scenarios) as one HTML document, charts drawn by `assets` (loadReportAssets). */
export function renderHtmlReport(
  results: readonly SimulationResult[],
  assets: ReportAssets,
  title = "Switchyard load lab",
): string {
  const sections = groupByScenario(results).map(renderScenario);
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}${assets.style}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    '<p class="note">Discrete-event simulation driving the real selection algorithms. Latency is client-visible ',
    "(arrival to response, queueing and retries included). Load spread (max/mean, CV) compares the attempts ",
    "routed to each backend, window by window, among the backends up for the whole window. Keys remapped: ",
    "share of keys whose serving backend differs between the scenario's before and after windows.</p>",
    '<noscript><p class="note">The charts need JavaScript; the tables have every number.</p></noscript>',
    ...sections,
    `<script>${inlineScript(assets.script)}</script>`,
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
    renderFallbacks(results),
    renderTable(results),
    chartData({
      title: "Latency percentiles",
      x: PERCENTILES.map((_, i) => i),
      xNames: PERCENTILES.map(([name]) => name),
      xLabel: "percentile",
      yLabel: "ms (log)",
      series: results.map((r) => ({
        name: r.algorithm,
        values: PERCENTILES.map(([, of]) => positive(of(r))),
      })),
      markers: [],
    }),
    chartData({
      title: "p99 latency over the run (by arrival time)",
      x,
      xLabel: "s",
      yLabel: "ms (log)",
      series: results.map((r) => ({ name: r.algorithm, values: r.timeline.p99.map(positive) })),
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

const PERCENTILES: readonly [string, (r: SimulationResult) => number][] = [
  ["p50", (r) => r.latency.p50],
  ["p95", (r) => r.latency.p95],
  ["p99", (r) => r.latency.p99],
  ["p99.9", (r) => r.latency.p999],
];

/** The value, or null where a log scale has no place for it (a bucket without answers is 0). */
function positive(value: number): number | null {
  return value > 0 ? value : null;
}

/** A chart's data as inline JSON; `<` escaped so no value can close the script element. */
function chartData(chart: ReportChart): string {
  return `<script type="application/json" class="chart-data">${JSON.stringify(chart).replaceAll("<", "\\u003c")}</script>`;
}

/** The bundle inline: a `</script` inside it (in a string) must not end the element. */
function inlineScript(script: string): string {
  return script.replaceAll("</script", "<\\/script");
}

function renderFallbacks(results: SimulationResult[]): string {
  const items = results.flatMap((r) =>
    r.fallback
      ? [
          `<li><b>${escapeHtml(r.algorithm)}</b>: ${escapeHtml(r.fallback.reason)} ` +
            `(${r.fallback.picks} picks)</li>`,
        ]
      : [],
  );
  if (items.length === 0) return "";
  return (
    '<div class="fallbacks note"><p>Ran without an input the simulation does not model, so these ' +
    `measure their fallback, not the algorithm:</p><ul>${items.join("")}</ul></div>`
  );
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

/**
 * The lab report's chart script, bundled with uPlot into the report by
 * scripts/build-lab-report.mjs: draws each inline `script.chart-data` JSON
 * (a ReportChart) as a uPlot chart right after it. Hovering shows every
 * series' value and highlights the nearest line; clicking a legend entry
 * toggles it, and "show all" / "hide all" make picking a few of two dozen easy.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./report.css";
import type { ReportChart } from "../chart-data.js";
import { seriesColor } from "../palette.js";

const HEIGHT = 380;

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Episode markers: dashed vertical lines with their label at the top of the plot. */
function drawMarkers(markers: ReportChart["markers"]) {
  return (u: uPlot) => {
    const { ctx, bbox } = u;
    const scale = devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = ctx.fillStyle = "#b0382f";
    ctx.setLineDash([4 * scale, 3 * scale]);
    ctx.font = `${11 * scale}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    for (const marker of markers) {
      const x = u.valToPos(marker.x, "x", true);
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.fillText(marker.label, x, bbox.top + 12 * scale);
    }
    ctx.restore();
  };
}

function options(chart: ReportChart, width: number): uPlot.Options {
  const names = chart.xNames;
  return {
    title: chart.title,
    width,
    height: HEIGHT,
    // Categories get half a step of room either side, so their points are not on the edges.
    scales: {
      x: { time: false, ...(names ? { range: (): uPlot.Range.MinMax => [-0.5, names.length - 0.5] } : {}) },
      y: { distr: 3, log: 10 },
    },
    axes: [
      {
        label: chart.xLabel,
        ...(names ? { splits: () => names.map((_, i) => i), values: () => names } : {}),
      },
      { label: chart.yLabel, size: 60 },
    ],
    series: [
      { label: chart.xLabel, value: (_u, v) => (names ? (names[v] ?? "") : formatValue(v)) },
      ...chart.series.map((s, i) => ({
        label: s.name,
        stroke: seriesColor(i),
        width: 1.25,
        points: { show: names !== undefined },
        value: (_u: uPlot, v: number | null) => formatValue(v),
      })),
    ],
    focus: { alpha: 0.25 },
    cursor: { focus: { prox: 16 } },
    hooks: { draw: [drawMarkers(chart.markers)] },
  };
}

function showAll(plot: uPlot, show: boolean): void {
  plot.batch(() => {
    for (let i = 1; i < plot.series.length; i++) plot.setSeries(i, { show });
  });
}

function button(text: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

for (const script of document.querySelectorAll<HTMLScriptElement>("script.chart-data")) {
  const chart = JSON.parse(script.textContent ?? "{}") as ReportChart;
  const box = document.createElement("div");
  box.className = "chart";
  script.after(box);
  const data: uPlot.AlignedData = [chart.x, ...chart.series.map((s) => s.values)];
  const plot = new uPlot(options(chart, box.clientWidth), data, box);
  const controls = document.createElement("div");
  controls.className = "chart-controls";
  controls.append(
    button("show all", () => showAll(plot, true)),
    button("hide all", () => showAll(plot, false)),
  );
  box.before(controls);
  addEventListener("resize", () => plot.setSize({ width: box.clientWidth, height: HEIGHT }));
}

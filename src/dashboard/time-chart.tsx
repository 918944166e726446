/**
 * A live time-series chart: one uPlot instance for the component's
 * lifetime, fed new columns with `setData` on every snapshot (uPlot redraws
 * a canvas; nothing is re-created), resized with its container. While the
 * pointer is elsewhere the legend shows the latest values. The number of
 * points drawn is mirrored in `data-points`, for tests and curious users.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { formatClock } from "./format.js";

export interface ChartSeries {
  label: string;
  color: string;
  /** Dashed, for a smoothed companion line. */
  dash?: boolean;
}

interface TimeChartProps {
  title: string;
  series: readonly ChartSeries[];
  /** Time in seconds, then one column per series. */
  data: uPlot.AlignedData;
  /** Formats a value for the axis and the legend. */
  format: (value: number) => string;
}

const HEIGHT = 220;

export function TimeChart({ title, series, data, format }: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const chart = new uPlot(chartOptions(series, format, element.clientWidth), data, element);
    plot.current = chart;
    element.dataset.points = String(data[0].length);
    let width = element.clientWidth;
    const resize = new ResizeObserver(() => {
      if (element.clientWidth === width) return;
      width = element.clientWidth;
      chart.setSize({ width, height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Built once; later data arrives through setData below.
  }, []);

  useEffect(() => {
    const chart = plot.current;
    if (!chart) return;
    chart.setData(data);
    if (chart.cursor.idx === null || chart.cursor.idx === undefined)
      chart.setLegend({ idx: data[0].length - 1 });
    if (box.current) box.current.dataset.points = String(data[0].length);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div class="chart-canvas" ref={box} role="img" aria-label={`${title} over the last five minutes`} />
    </figure>
  );
}

function chartOptions(series: readonly ChartSeries[], format: (value: number) => string, width: number) {
  const axis: uPlot.Axis = {
    stroke: "#667085",
    grid: { stroke: "#eef0f3", width: 1 },
    ticks: { stroke: "#e2e5ea", width: 1 },
    font: "11px system-ui, sans-serif",
  };
  const options: uPlot.Options = {
    width: Math.max(width, 200),
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_chart, _min, max) => [0, niceCeiling(max)] } },
    axes: [
      { ...axis, space: 90, values: (_chart, values) => values.map((value) => formatClock(value * 1000)) },
      { ...axis, size: 64, values: (_chart, values) => values.map((value) => format(value)) },
    ],
    series: [
      {
        label: "time",
        value: (_chart: uPlot, value: number | null) => (value === null ? "–" : formatClock(value * 1000)),
      },
      ...series.map((line) => ({
        label: line.label,
        stroke: line.color,
        width: 2,
        dash: line.dash ? [6, 4] : undefined,
        points: { show: false },
        spanGaps: false,
        value: (_chart: uPlot, value: number | null) => (value === null ? "–" : format(value)),
      })),
    ],
  };
  return options;
}

/** The y axis starts at 0 and ends a little above the highest point (at least 1). */
function niceCeiling(max: number | null): number {
  if (max === null || !Number.isFinite(max) || max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max * 1.1) return step * magnitude;
  return 10 * magnitude;
}

/**
 * Minimal inline SVG charts for the lab report: grouped bars and lines, with
 * a linear or log10 value axis, a legend and optional vertical markers. Pure
 * string building, no DOM and no script, so a report is one static file.
 */

export interface Series {
  name: string;
  values: readonly number[];
}

export interface BarChartOptions {
  title: string;
  categories: readonly string[];
  series: readonly Series[];
  unit: string;
  log?: boolean;
}

export interface LineChartOptions {
  title: string;
  /** x of each point, shared by every series. */
  x: readonly number[];
  xUnit: string;
  series: readonly Series[];
  unit: string;
  log?: boolean;
  /** Vertical dashed lines with a label (episode starts and ends). */
  markers?: readonly { x: number; label: string }[];
}

const WIDTH = 960;
const PLOT_TOP = 40;
const PLOT_LEFT = 70;
const PLOT_RIGHT = 20;

/** A colour per series index, well spread around the hue circle. */
export function seriesColor(index: number): string {
  return `hsl(${Math.round((index * 137.508) % 360)} 62% 45%)`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Scale {
  y: (value: number) => number;
  ticks: { value: number; label: string }[];
}

function valueScale(values: readonly number[], log: boolean, top: number, bottom: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (log) {
    const lo = Math.floor(Math.log10(Math.min(...finite, 1)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...finite, 1))));
    const floor = 10 ** lo;
    const y = (v: number) => bottom - ((Math.log10(Math.max(v, floor)) - lo) / (hi - lo)) * (bottom - top);
    const ticks = [];
    for (let p = lo; p <= hi; p++) ticks.push({ value: 10 ** p, label: formatTick(10 ** p) });
    return { y, ticks };
  }
  const max = Math.max(...finite, 0) || 1;
  const step = niceStep(max / 5);
  const hi = Math.ceil(max / step) * step;
  const y = (v: number) => bottom - (v / hi) * (bottom - top);
  const ticks = [];
  for (let v = 0; v <= hi + step / 2; v += step) ticks.push({ value: v, label: formatTick(v) });
  return { y, ticks };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function formatTick(value: number): string {
  if (value >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (value >= 1000) return `${Number((value / 1000).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function axis(scale: Scale, bottom: number, unit: string, title: string): string {
  const parts = [
    `<text x="${PLOT_LEFT}" y="22" class="title">${escapeHtml(title)}</text>`,
    `<text x="12" y="${PLOT_TOP - 8}" class="unit">${escapeHtml(unit)}</text>`,
  ];
  for (const tick of scale.ticks) {
    const y = scale.y(tick.value).toFixed(1);
    parts.push(`<line x1="${PLOT_LEFT}" x2="${WIDTH - PLOT_RIGHT}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(
      `<text x="${PLOT_LEFT - 6}" y="${y}" class="tick" text-anchor="end" dy="4">${tick.label}</text>`,
    );
  }
  parts.push(
    `<line x1="${PLOT_LEFT}" x2="${WIDTH - PLOT_RIGHT}" y1="${bottom}" y2="${bottom}" class="axis"/>`,
  );
  return parts.join("");
}

function legend(series: readonly Series[], y: number): string {
  const parts: string[] = [];
  let x = PLOT_LEFT;
  let row = y;
  for (const [i, s] of series.entries()) {
    const width = 24 + s.name.length * 7;
    if (x + width > WIDTH - PLOT_RIGHT) {
      x = PLOT_LEFT;
      row += 18;
    }
    parts.push(`<rect x="${x}" y="${row - 9}" width="12" height="10" fill="${seriesColor(i)}"/>`);
    parts.push(`<text x="${x + 16}" y="${row}" class="legend">${escapeHtml(s.name)}</text>`);
    x += width;
  }
  return parts.join("");
}

function svg(height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img">` +
    `${body}</svg>`
  );
}

/** Bars grouped by category, one bar per series in each group. */
export function barChart(options: BarChartOptions): string {
  const { categories, series } = options;
  const bottom = 300;
  const scale = valueScale(
    series.flatMap((s) => s.values),
    options.log ?? false,
    PLOT_TOP,
    bottom,
  );
  const groupWidth = (WIDTH - PLOT_LEFT - PLOT_RIGHT) / Math.max(1, categories.length);
  const barWidth = Math.max(2, (groupWidth * 0.8) / Math.max(1, series.length));
  const parts = [axis(scale, bottom, options.unit, options.title)];
  categories.forEach((category, c) => {
    const left = PLOT_LEFT + c * groupWidth + groupWidth * 0.1;
    series.forEach((s, i) => {
      const value = s.values[c] ?? 0;
      const y = scale.y(value);
      const label = `${category} ${s.name}: ${formatTick(value)} ${options.unit}`;
      parts.push(
        `<rect x="${(left + i * barWidth).toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" ` +
          `height="${Math.max(0, bottom - y).toFixed(1)}" fill="${seriesColor(i)}"><title>${escapeHtml(label)}</title></rect>`,
      );
    });
    const cx = (PLOT_LEFT + (c + 0.5) * groupWidth).toFixed(1);
    parts.push(
      `<text x="${cx}" y="${bottom + 14}" class="tick" text-anchor="end" transform="rotate(-30 ${cx} ${bottom + 14})">${escapeHtml(category)}</text>`,
    );
  });
  parts.push(legend(series, bottom + 110));
  return svg(bottom + 110 + 18 * Math.ceil(series.length / 6), parts.join(""));
}

/** One polyline per series over the shared x values. */
export function lineChart(options: LineChartOptions): string {
  const { x, series } = options;
  const bottom = 320;
  const scale = valueScale(
    series.flatMap((s) => s.values),
    options.log ?? false,
    PLOT_TOP,
    bottom,
  );
  const xMax = Math.max(...x, 1);
  const px = (value: number) => PLOT_LEFT + (value / xMax) * (WIDTH - PLOT_LEFT - PLOT_RIGHT);
  const parts = [axis(scale, bottom, options.unit, options.title)];
  for (const marker of options.markers ?? []) {
    const mx = px(marker.x).toFixed(1);
    parts.push(`<line x1="${mx}" x2="${mx}" y1="${PLOT_TOP}" y2="${bottom}" class="marker"/>`);
    parts.push(
      `<text x="${mx}" y="${PLOT_TOP - 4}" class="tick" text-anchor="middle">${escapeHtml(marker.label)}</text>`,
    );
  }
  const xStep = niceStep(xMax / 6);
  for (let value = 0; value <= xMax + xStep * 1e-9; value += xStep) {
    parts.push(
      `<text x="${px(value).toFixed(1)}" y="${bottom + 16}" class="tick" text-anchor="middle">${formatTick(value)}</text>`,
    );
  }
  parts.push(
    `<text x="${WIDTH - PLOT_RIGHT}" y="${bottom + 32}" class="unit" text-anchor="end">${escapeHtml(options.xUnit)}</text>`,
  );
  series.forEach((s, i) => {
    const points = s.values.map((v, j) => `${px(x[j] ?? 0).toFixed(1)},${scale.y(v).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${seriesColor(i)}" stroke-width="1.8"><title>${escapeHtml(s.name)}</title></polyline>`,
    );
  });
  parts.push(legend(series, bottom + 56));
  return svg(bottom + 56 + 18 * Math.ceil(series.length / 6), parts.join(""));
}

/**
 * Minimal inline SVG bar chart for the lab report: grouped bars on a linear
 * value axis, with a legend. Pure string building, no DOM and no
 * script, so it reads without JavaScript.
 */
import { seriesColor } from "./palette.js";

export interface Series {
  name: string;
  values: readonly number[];
}

export interface BarChartOptions {
  title: string;
  categories: readonly string[];
  series: readonly Series[];
  unit: string;
}

const WIDTH = 960;
const PLOT_TOP = 40;
const PLOT_LEFT = 70;
const PLOT_RIGHT = 20;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Scale {
  y: (value: number) => number;
  ticks: { value: number; label: string }[];
}

function valueScale(values: readonly number[], top: number, bottom: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v));
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

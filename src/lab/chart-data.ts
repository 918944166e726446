/**
 * What the lab report hands its chart script: one JSON object per chart,
 * inline in the page (see html-report.ts, drawn by report-page/charts.ts).
 */
export interface ReportChart {
  title: string;
  /** x of each point, shared by every series. */
  x: number[];
  /** Names of the x values when they are categories (x = 0, 1, …), e.g. percentiles. */
  xNames?: string[];
  xLabel: string;
  yLabel: string;
  /** One line per algorithm; null where there is no value (log scale: none ≤ 0). */
  series: { name: string; values: (number | null)[] }[];
  /** Vertical dashed lines with a label at these x (episode starts and ends). */
  markers: { x: number; label: string }[];
}

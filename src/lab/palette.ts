/**
 * Series colours of the lab report, shared by its SVG bars and its uPlot
 * charts: the hue walks the golden angle and the lightness cycles over three
 * levels, so neighbours differ and two dozen algorithms stay distinguishable.
 */
const LIGHTNESS = [42, 60, 30];

export function seriesColor(index: number): string {
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 65% ${LIGHTNESS[index % LIGHTNESS.length]}%)`;
}

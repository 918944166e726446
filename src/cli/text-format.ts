/**
 * Plain-text layout shared by the commands' human-readable output: aligned
 * columns (`table`) and counted nouns (`plural`). JSON output never goes
 * through here.
 */

/** Left-aligned columns, two spaces apart; trailing spaces trimmed. */
export function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** `1 backend`, `2 backends`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** How the cluster primary combines one figure reported by several workers. */
export type Combine = "sum" | "first" | "min" | "max" | "average";

/** NaN (a quantile with no recent samples) is left out unless every worker reports it. */
export function combineNumbers(reported: readonly number[], how: Combine): number {
  const numbers = reported.filter((value) => !Number.isNaN(value));
  if (numbers.length === 0) return reported.length > 0 ? Number.NaN : 0;
  switch (how) {
    case "sum":
      return numbers.reduce((total, value) => total + value, 0);
    case "first":
      return numbers[0] ?? 0;
    case "min":
      return Math.min(...numbers);
    case "max":
      return Math.max(...numbers);
    case "average":
      return numbers.reduce((total, value) => total + value, 0) / numbers.length;
  }
}

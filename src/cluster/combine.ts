/** How the cluster primary combines one figure reported by several workers. */
export type Combine = "sum" | "first" | "min" | "max" | "average";

export function combineNumbers(numbers: readonly number[], how: Combine): number {
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
      return numbers.length === 0 ? 0 : numbers.reduce((total, value) => total + value, 0) / numbers.length;
  }
}

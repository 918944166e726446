import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";
import { WeightedRoundRobinSelector } from "./weighted-round-robin.js";

runSelectorSuite("weighted-round-robin", { create: () => new WeightedRoundRobinSelector(), weighted: true });

function cycle(weights: number[], picks: number): string[] {
  const selector = follow(makePool(weights.length, weights), new WeightedRoundRobinSelector());
  return Array.from({ length: picks }, () => selector.pick({}, acceptReady)?.id ?? "none");
}

describe("weighted-round-robin", () => {
  it("interleaves like nginx's smooth weighted round-robin", () => {
    expect(cycle([5, 1, 1], 7)).toEqual(["b0", "b0", "b1", "b0", "b2", "b0", "b0"]);
  });

  it("gives each backend exactly its weight per cycle", () => {
    const weights = [4, 3, 2, 1];
    const counts = new Map<string, number>();
    for (const id of cycle(weights, 10 * 3)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ b0: 12, b1: 9, b2: 6, b3: 3 });
  });

  it("never picks a weight-0 backend", () => {
    expect(cycle([1, 0, 1], 10)).not.toContain("b1");
  });

  it("steps live, with the same shares, when weights are fractional", () => {
    const counts = new Map<string, number>();
    for (const id of cycle([1.5, 0.5], 40)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ b0: 30, b1: 10 });
  });

  it("re-reads weights after a change", () => {
    const pool = makePool(2, [1, 1]);
    const selector = follow(pool, new WeightedRoundRobinSelector());
    pool.setWeight("b0", 3);
    const ids = Array.from({ length: 4 }, () => selector.pick({}, acceptReady)?.id);
    expect(ids.filter((id) => id === "b0")).toHaveLength(3);
  });
});

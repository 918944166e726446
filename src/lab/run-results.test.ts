import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  latencyTimeline,
  loadSpread,
  quantilesInPlace,
  remappedFraction,
  windowedLoadSpread,
} from "./run-results.js";

function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1] as number;
}

describe("quantilesInPlace", () => {
  it("equals the nearest rank of the sorted values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 500 }),
        (values) => {
          const qs = [0, 0.25, 0.5, 0.95, 0.99, 0.999, 1];
          expect(quantilesInPlace(Float64Array.from(values), qs)).toEqual(
            qs.map((q) => nearestRank(values, q)),
          );
        },
      ),
    );
  });

  it("handles many duplicates and an empty input", () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i % 3);
    expect(quantilesInPlace(values, [0.3, 0.5, 0.99])).toEqual([0, 1, 2]);
    expect(quantilesInPlace(new Float64Array(0), [0.5])).toEqual([0]);
  });
});

describe("loadSpread", () => {
  it("is 1 and 0 for an even load, and grows with imbalance", () => {
    expect(loadSpread([10, 10, 10])).toEqual({ maxMeanRatio: 1, cv: 0 });
    const skewed = loadSpread([30, 10, 10, 10]);
    expect(skewed.maxMeanRatio).toBeCloseTo(2, 9);
    expect(skewed.cv).toBeCloseTo(Math.sqrt(75) / 15, 9);
  });

  it("compares only backends alive for a whole window", () => {
    // Two windows of 100 ms; b2 joins at 100 ms and takes its fair share from then on.
    const routed = [Float64Array.from([50, 25]), Float64Array.from([50, 25]), Float64Array.from([0, 25])];
    const alive = [
      [0, 200],
      [0, 200],
      [100, 200],
    ];
    expect(windowedLoadSpread(routed, alive, 200)).toEqual({ maxMeanRatio: 1, cv: 0 });
  });
});

describe("remappedFraction", () => {
  it("counts keys served in both windows whose backend changed", () => {
    const before = Int32Array.from([0, 1, 2, -1, 3]);
    const after = Int32Array.from([0, 2, 2, 1, -1]);
    expect(remappedFraction(before, after)).toBeCloseTo(1 / 3, 3);
  });
});

describe("latencyTimeline", () => {
  it("buckets by arrival time and counts arrivals and errors", () => {
    const latencies = Float64Array.from([1, 2, 3, 100]);
    const arrivals = Float64Array.from([5, 15, 16, 35]);
    const timeline = latencyTimeline(latencies, arrivals, Float64Array.from([17]), 40, 4);
    expect(timeline.bucketMs).toBe(10);
    expect(timeline.arrivals).toEqual([1, 3, 0, 1]);
    expect(timeline.errors).toEqual([0, 1, 0, 0]);
    expect(timeline.p99).toEqual([1, 3, 0, 100]);
    expect(timeline.p50).toEqual([1, 2, 0, 100]);
  });
});

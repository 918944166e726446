import { describe, expect, it } from "vitest";
import { seededRandom } from "../core/random.js";
import { LatencyHistogram } from "./latency-histogram.js";

/** Exact nearest-rank quantile of a sorted array. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1] as number;
}

describe("LatencyHistogram", () => {
  it("has no quantile before the first sample", () => {
    const histogram = new LatencyHistogram();
    expect(histogram.quantile(0.5)).toBeUndefined();
    expect(histogram.samples).toBe(0);
  });

  it("matches exact quantiles within 4% (buckets 1/32 wide), from 10 µs to minutes", () => {
    for (const scale of [0.05, 10, 40_000]) {
      const random = seededRandom(3);
      const histogram = new LatencyHistogram(1_000_000);
      const values: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const value = -scale * Math.log(1 - random());
        values.push(value);
        histogram.record(value);
      }
      values.sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.95, 0.99]) {
        const estimate = histogram.quantile(q) as number;
        expect(Math.abs(estimate / exact(values, q) - 1)).toBeLessThan(0.04);
      }
    }
  });

  it("forgets: after a shift the quantiles follow the new latencies", () => {
    const histogram = new LatencyHistogram(500);
    for (let i = 0; i < 5000; i++) histogram.record(10);
    expect(histogram.quantile(0.5)).toBeCloseTo(10, 0);
    for (let i = 0; i < 5000; i++) histogram.record(100);
    // Ten windows later none of the old samples is read.
    expect(histogram.quantile(0.05)).toBeGreaterThan(95);
    expect(histogram.weight).toBeLessThan(1000);
    expect(histogram.samples).toBe(10_000);
  });

  it("ignores negative and NaN samples and clamps huge ones", () => {
    const histogram = new LatencyHistogram();
    histogram.record(-1);
    histogram.record(Number.NaN);
    expect(histogram.samples).toBe(0);
    histogram.record(1e12);
    expect(histogram.quantile(0.5)).toBeGreaterThan(9e5);
    expect(() => new LatencyHistogram(0)).toThrow(RangeError);
  });

  it("reads the last one to two windows of samples, whole", () => {
    const histogram = new LatencyHistogram(100);
    for (let i = 0; i < 100; i++) histogram.record(1);
    expect(histogram.weight).toBe(100);
    for (let i = 0; i < 150; i++) histogram.record(50);
    // Window 0 (all 1 ms) is gone; window 1 is full and window 2 half full, all 50 ms.
    expect(histogram.weight).toBe(150);
    expect(histogram.quantile(0)).toBeCloseTo(50, 0);
    expect(histogram.samples).toBe(250);
    for (let i = 0; i < 1000; i++) {
      histogram.record(5);
      expect(histogram.weight).toBeGreaterThanOrEqual(100);
      expect(histogram.weight).toBeLessThan(200);
    }
  });
});

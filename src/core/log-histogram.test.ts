import { describe, expect, it } from "vitest";
import {
  bucketIndex,
  bucketValue,
  LogHistogram,
  MAX_RECORDED,
  quantileOf,
  summarize,
  WindowedHistogram,
} from "./log-histogram.js";

describe("bucketIndex / bucketValue", () => {
  it("places small values exactly and larger ones within 1/32 of themselves", () => {
    for (let value = 0; value < 64; value++) expect(bucketValue(bucketIndex(value))).toBe(value);
    for (const value of [100, 1_000, 12_345, 999_999, 3_000_000_000]) {
      const placed = bucketValue(bucketIndex(value));
      expect(Math.abs(placed - value) / value).toBeLessThanOrEqual(1 / 64);
    }
  });

  it("is monotonic and clamps what it cannot hold", () => {
    let previous = -1;
    let decreases = 0;
    for (let value = 0; value < 2 ** 32; value = Math.floor(value * 1.01) + 1) {
      const index = bucketIndex(value);
      if (index < previous) decreases++;
      previous = index;
    }
    expect(decreases).toBe(0);
    expect(bucketIndex(-5)).toBe(0);
    expect(bucketIndex(Number.NaN)).toBe(0);
    expect(bucketIndex(2.9)).toBe(2);
    expect(bucketIndex(1e12)).toBe(bucketIndex(MAX_RECORDED));
  });
});

describe("LogHistogram quantiles", () => {
  it("reads p50 ≤ p95 ≤ p99 close to the true values of a known set", () => {
    const histogram = new LogHistogram();
    for (let value = 1; value <= 10_000; value++) histogram.record(value);
    const p50 = histogram.quantile(0.5);
    const p95 = histogram.quantile(0.95);
    const p99 = histogram.quantile(0.99);
    expect(p50).toBeLessThanOrEqual(p95);
    expect(p95).toBeLessThanOrEqual(p99);
    expect(Math.abs(p50 - 5_000) / 5_000).toBeLessThan(0.02);
    expect(Math.abs(p95 - 9_500) / 9_500).toBeLessThan(0.02);
    expect(Math.abs(p99 - 9_900) / 9_900).toBeLessThan(0.02);
    expect(histogram.quantile(1)).toBe(10_000);
  });

  it("finds a tail: 98 fast values and 2 slow ones", () => {
    const histogram = new LogHistogram();
    for (let index = 0; index < 98; index++) histogram.record(1_000);
    histogram.record(50_000);
    histogram.record(80_000);
    expect(histogram.quantile(0.5)).toBeCloseTo(1_000, -1);
    expect(histogram.quantile(0.95)).toBeCloseTo(1_000, -1);
    expect(histogram.quantile(0.99)).toBeGreaterThan(49_000);
    expect(histogram.quantile(0.99)).toBeLessThanOrEqual(80_000);
  });

  it("is NaN when empty and summarizes to zeros", () => {
    expect(Number.isNaN(new LogHistogram().quantile(0.5))).toBe(true);
    expect(summarize([new LogHistogram()])).toEqual({
      count: 0,
      sum: 0,
      mean: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      max: 0,
    });
  });

  it("reads several histograms as one", () => {
    const low = new LogHistogram();
    const high = new LogHistogram();
    for (let index = 0; index < 50; index++) {
      low.record(10);
      high.record(20);
    }
    expect(quantileOf([low, high], 0.25)).toBe(10);
    expect(quantileOf([low, high], 0.75)).toBe(20);
    expect(summarize([low, high], 0.5)).toMatchObject({ count: 100, mean: 7.5, p50: 5, p99: 10, max: 10 });
  });
});

describe("WindowedHistogram", () => {
  it("keeps the current and previous windows for quantiles, the lifetime for count and sum", () => {
    const series = new WindowedHistogram(0);
    for (let index = 0; index < 10; index++) series.record(100);
    series.rotate(1);
    for (let index = 0; index < 10; index++) series.record(300);
    expect(series.summary(1)).toMatchObject({ count: 20, sum: 4_000, mean: 200, recentCount: 20, max: 300 });
    series.rotate(2);
    // Window 0 is gone; window 1 (all 300s) is the previous one.
    const later = series.summary(2);
    expect(later).toMatchObject({ count: 20, recentCount: 10 });
    // 300 sits in the bucket 296..303, read at its midpoint.
    expect(later.p50).toBeCloseTo(300, -1);
    // Read later without a rotation: only what is still recent counts.
    expect(series.summary(3)).toMatchObject({ recentCount: 0, p50: 0 });
    expect(series.summary(9)).toMatchObject({ count: 20, recentCount: 0 });
    series.rotate(9);
    series.record(7);
    expect(series.summary(9)).toMatchObject({ count: 21, recentCount: 1, p50: 7, p99: 7 });
  });
});

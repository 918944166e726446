/** Fixed latency buckets: `le` bounds are inclusive, counts come out cumulative. */
import { describe, expect, it } from "vitest";
import { LATENCY_BOUNDS_SECONDS, LatencyBuckets, latencyBucket } from "./latency-buckets.js";

describe("latency buckets", () => {
  it("puts a latency equal to a bound in that bound's bucket, and one past every bound last", () => {
    expect(LATENCY_BOUNDS_SECONDS[0]).toBe(0.0005);
    expect(LATENCY_BOUNDS_SECONDS.at(-1)).toBe(10);
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.5)).toBe(0);
    expect(latencyBucket(0.51)).toBe(1);
    expect(latencyBucket(10_000)).toBe(LATENCY_BOUNDS_SECONDS.length - 1);
    expect(latencyBucket(10_001)).toBe(LATENCY_BOUNDS_SECONDS.length);
  });

  it("reports cumulative counts ending with the total", () => {
    const buckets = new LatencyBuckets();
    for (const ms of [0.2, 3, 3, 40, 60_000]) buckets.add(latencyBucket(ms));
    const cumulative = buckets.cumulative();
    expect(cumulative).toHaveLength(LATENCY_BOUNDS_SECONDS.length + 1);
    const at = (seconds: number) => cumulative[LATENCY_BOUNDS_SECONDS.indexOf(seconds)];
    expect([at(0.0005), at(0.0025), at(0.005), at(0.05), at(10), cumulative.at(-1)]).toEqual([
      1, 1, 3, 4, 4, 5,
    ]);
  });
});

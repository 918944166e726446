import { describe, expect, it } from "vitest";
import { LatencyByRif } from "./latency-by-rif.js";

describe("LatencyByRif", () => {
  it("answers 0 before any sample", () => {
    expect(new LatencyByRif().estimate(3, 0)).toBe(0);
  });

  it("estimates by the RIF a request would arrive at: the median of that RIF's recent latencies", () => {
    const latency = new LatencyByRif();
    for (const ms of [10, 12, 500, 11]) latency.observe(0, ms, 0);
    for (const ms of [80, 90, 85]) latency.observe(6, ms, 0);
    expect(latency.estimate(0, 0)).toBe(11.5);
    expect(latency.estimate(6, 0)).toBe(85);
  });

  it("answers an unseen RIF from the nearest one seen, the lower on a tie", () => {
    const latency = new LatencyByRif();
    latency.observe(2, 20, 0);
    latency.observe(6, 60, 0);
    expect(latency.estimate(0, 0)).toBe(20);
    expect(latency.estimate(4, 0)).toBe(20);
    expect(latency.estimate(5, 0)).toBe(60);
    expect(latency.estimate(1000, 0)).toBe(60);
  });

  it("keeps only the newest latencies of each RIF", () => {
    const latency = new LatencyByRif();
    for (let i = 0; i < 8; i++) latency.observe(1, 100, 0);
    for (let i = 0; i < 8; i++) latency.observe(1, 5, 0);
    expect(latency.estimate(1, 0)).toBe(5);
  });

  it("forgets everything once idle for the horizon: nothing in flight answers 0 (unknown), the next sample starts afresh", () => {
    const latency = new LatencyByRif(1000);
    for (let i = 0; i < 8; i++) latency.observe(0, 100, 0);
    latency.observe(4, 120, 0);
    expect(latency.estimate(0, 1000)).toBe(100);
    // Idle past the horizon: unknown with nothing in flight; with requests in flight it still answers what it knows.
    expect(latency.estimate(0, 1001)).toBe(0);
    expect(latency.estimate(4, 1001)).toBe(120);
    // The first answer after the gap stands alone: no median with the slow past.
    latency.observe(0, 10, 1500);
    expect(latency.estimate(0, 1500)).toBe(10);
    expect(latency.estimate(4, 1500)).toBe(10);
  });
});

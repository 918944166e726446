import { describe, expect, it } from "vitest";
import { LatencyByRif } from "./latency-by-rif.js";

describe("LatencyByRif", () => {
  it("answers 0 before any sample", () => {
    expect(new LatencyByRif().estimate(3)).toBe(0);
  });

  it("estimates by the RIF a request would arrive at: the median of that RIF's recent latencies", () => {
    const latency = new LatencyByRif();
    for (const ms of [10, 12, 500, 11]) latency.observe(0, ms);
    for (const ms of [80, 90, 85]) latency.observe(6, ms);
    expect(latency.estimate(0)).toBe(11.5);
    expect(latency.estimate(6)).toBe(85);
  });

  it("answers an unseen RIF from the nearest one seen, the lower on a tie", () => {
    const latency = new LatencyByRif();
    latency.observe(2, 20);
    latency.observe(6, 60);
    expect(latency.estimate(0)).toBe(20);
    expect(latency.estimate(4)).toBe(20);
    expect(latency.estimate(5)).toBe(60);
    expect(latency.estimate(1000)).toBe(60);
  });

  it("keeps only the newest latencies of each RIF", () => {
    const latency = new LatencyByRif();
    for (let i = 0; i < 8; i++) latency.observe(1, 100);
    for (let i = 0; i < 8; i++) latency.observe(1, 5);
    expect(latency.estimate(1)).toBe(5);
  });
});

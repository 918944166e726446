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

  it("reacts to a slow-down within the window: a RIF answered from stale samples takes the recent ones", () => {
    let now = 0;
    const latency = new LatencyByRif(() => now, 1_000);
    for (let i = 0; i < 8; i++) latency.observe(4, 10);
    now = 5_000;
    // The server slowed down; requests now arrive at RIF 0 and take 100 ms. RIF 4's fast samples are stale.
    latency.observe(0, 100);
    expect(latency.estimate(4)).toBe(100);
  });

  it("an idle server with nothing recent answers 0, so requests come back after a slow spell", () => {
    let now = 0;
    const latency = new LatencyByRif(() => now, 1_000);
    for (let rif = 0; rif < 4; rif++) for (let i = 0; i < 8; i++) latency.observe(rif, 100);
    now = 1_000;
    expect(latency.estimate(0)).toBe(100);
    now = 1_001;
    expect(latency.estimate(0)).toBe(0);
    // One request placed on it finds the recovery, and the stale slow RIFs go by it.
    latency.observe(0, 10);
    expect(latency.estimate(3)).toBe(10);
  });

  it("a busy server with nothing recent keeps to the latencies it saw last", () => {
    let now = 0;
    const latency = new LatencyByRif(() => now, 1_000);
    for (const ms of [80, 90, 100]) latency.observe(2, ms);
    now = 60_000;
    expect(latency.estimate(2)).toBe(90);
    expect(latency.estimate(1)).toBe(90);
  });
});

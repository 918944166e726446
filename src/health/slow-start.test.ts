import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import { Pool } from "../core/pool.js";
import { SlowStart } from "./slow-start.js";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** Weights seen at each 100 ms step of a 1 s ramp, starting now. */
function rampWeights(read: () => number): number[] {
  const weights = [read()];
  for (let step = 0; step < 10; step++) {
    vi.advanceTimersByTime(100);
    weights.push(read());
  }
  return weights;
}

describe("SlowStart", () => {
  it("ramps from 10% to 100% of the weight in ten steps and ends at the configured weight", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001", weight: 5 }]);
    const slowStart = new SlowStart(pool, 1_000);
    const backend = pool.require("a");
    slowStart.begin(backend);
    expect(slowStart.details(backend)).toEqual({ targetWeight: 5, progress: 0 });
    expect(rampWeights(() => backend.weight)).toEqual([
      0.5, 0.95, 1.4, 1.85, 2.3, 2.75, 3.2, 3.65, 4.1, 4.55, 5,
    ]);
    expect(slowStart.details(backend)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops ramping when an operator sets the weight during the ramp", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001", weight: 10 }]);
    const slowStart = new SlowStart(pool, 1_000);
    const backend = pool.require("a");
    slowStart.begin(backend);
    vi.advanceTimersByTime(300);
    expect(backend.weight).toBe(3.7);
    pool.setWeight("a", 7);
    vi.advanceTimersByTime(1_000);
    expect(backend.weight).toBe(7);
    expect(slowStart.details(backend)).toBeUndefined();
  });

  it("keeps the original target when restarted mid-ramp, and restores it on stop", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001", weight: 4 }]);
    const slowStart = new SlowStart(pool, 1_000);
    const backend = pool.require("a");
    slowStart.begin(backend);
    vi.advanceTimersByTime(500);
    slowStart.begin(backend);
    expect(backend.weight).toBe(0.4);
    expect(slowStart.details(backend)?.targetWeight).toBe(4);
    slowStart.stop();
    expect(backend.weight).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does nothing when off or for a weight of 0", () => {
    const pool = new Pool([
      { id: "a", address: "127.0.0.1:9001", weight: 3 },
      { id: "z", address: "127.0.0.1:9002", weight: 0 },
    ]);
    new SlowStart(pool, 0).begin(pool.require("a"));
    expect(pool.require("a").weight).toBe(3);
    new SlowStart(pool, 1_000).begin(pool.require("z"));
    expect(pool.require("z").weight).toBe(0);
  });
});

describe("slow start in the balancer", () => {
  it("ramps a backend added to the pool and one recovering from unhealthy", () => {
    const balancer = createBalancer({
      backends: [{ id: "a", address: "127.0.0.1:9001", weight: 2 }],
      slowStart: { durationMs: 1_000 },
    });
    const added = balancer.pool.add({ id: "b", address: "127.0.0.1:9002", weight: 2 });
    expect(added.weight).toBe(0.2);
    expect(balancer.stats().backends[1]?.health.slowStart).toEqual({ targetWeight: 2, progress: 0 });
    vi.advanceTimersByTime(1_000);
    expect(added.weight).toBe(2);

    balancer.pool.setState("a", "unhealthy");
    expect(balancer.pool.require("a").weight).toBe(2);
    balancer.pool.setState("a", "healthy");
    expect(balancer.pool.require("a").weight).toBe(0.2);
    vi.advanceTimersByTime(500);
    expect(balancer.pool.require("a").weight).toBe(1.1);
  });

  it("restores configured weights on stop and ramps nothing after it", async () => {
    const balancer = createBalancer({
      backends: [{ id: "a", address: "127.0.0.1:9001", weight: 2 }],
      slowStart: { durationMs: 1_000 },
    });
    balancer.pool.add({ id: "b", address: "127.0.0.1:9002", weight: 2 });
    await balancer.stop();
    expect(balancer.pool.require("b").weight).toBe(2);
    expect(balancer.pool.add({ id: "c", address: "127.0.0.1:9003", weight: 2 }).weight).toBe(2);
  });
});

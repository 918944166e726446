import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { BackendMetricsStore, defaultMetricsStore } from "../load/backend-metrics.js";
import { type MetricsSelector, metrics, metricsScore } from "./metrics.js";
import { countPicks, follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const create = (options: Record<string, unknown> = {}) =>
  metrics.create(metrics.options.parse(options), testEnv()) as MetricsSelector;

// The shared contract runs on unbound pools, which read the default store: give every backend the same figures.
defaultMetricsStore.configure({ ttlMs: Number.MAX_SAFE_INTEGER });
for (let i = 0; i < 16; i++) defaultMetricsStore.write(`b${i}`, { cpu: 10, memory: 10, network: 0 });

runSelectorSuite("metrics", { create: () => create(), weighted: false });

/** A pool of `count` backends bound to a store on a hand-driven clock. */
function setup(count: number, options: { ttlMs?: number; fallback?: "round-robin" | "none" } = {}) {
  let time = 0;
  const store = new BackendMetricsStore({ ...options, now: () => time });
  const pool = makePool(count);
  store.attach(pool);
  const selector = create();
  follow(pool, selector);
  return {
    pool,
    store,
    selector,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe("metrics", () => {
  it("scores 0.5·cpu + 0.3·memory + 0.2·network, network as a percent of capacity, capped", () => {
    const weights = { cpu: 0.5, memory: 0.3, network: 0.2 };
    expect(metricsScore({ cpu: 40, memory: 50, network: 500 }, weights, 1000)).toBeCloseTo(20 + 15 + 10);
    expect(metricsScore({ cpu: 0, memory: 0, network: 1e12 }, weights, 1000)).toBeCloseTo(20);
  });

  it("sends every pick to the least-loaded backend (seed 001's unit test)", () => {
    const { store, selector } = setup(3);
    store.write("b0", { cpu: 80, memory: 10, network: 0 });
    store.write("b1", { cpu: 45, memory: 10, network: 0 });
    store.write("b2", { cpu: 60, memory: 10, network: 0 });
    expect([...countPicks(selector, 50).entries()]).toEqual([["b1", 50]]);
    expect(selector.describe(selector.pick({}, []) as Backend)).toMatch(/lowest load score 25.5 \(cpu 45%/);
  });

  it("takes weights from its options", () => {
    let time = 0;
    const store = new BackendMetricsStore({ now: () => time });
    const pool = makePool(2);
    store.attach(pool);
    const selector = follow(pool, create({ weights: { cpu: 0, memory: 1, network: 0 } }));
    store.write("b0", { cpu: 5, memory: 90, network: 0 });
    store.write("b1", { cpu: 95, memory: 10, network: 0 });
    time += 1;
    expect(selector.pick({}, [])?.id).toBe("b1");
  });

  it("walks candidates from least to most loaded as backends are tried", () => {
    const { store, selector } = setup(3);
    store.write("b0", { cpu: 30, memory: 0, network: 0 });
    store.write("b1", { cpu: 10, memory: 0, network: 0 });
    store.write("b2", { cpu: 20, memory: 0, network: 0 });
    const tried: Backend[] = [];
    for (let backend = selector.pick({}, tried); backend; backend = selector.pick({}, tried))
      tried.push(backend);
    expect(tried.map((backend) => backend.id)).toEqual(["b1", "b2", "b0"]);
  });

  it("scores a backend without fresh metrics as the mean of the others", () => {
    const { store, selector, pool } = setup(3);
    store.write("b0", { cpu: 20, memory: 0, network: 0 });
    store.write("b1", { cpu: 60, memory: 0, network: 0 });
    // b2 has no metrics: mean score 20, between b0 (10) and b1 (30).
    const tried: Backend[] = [];
    for (let backend = selector.pick({}, tried); backend; backend = selector.pick({}, tried))
      tried.push(backend);
    expect(tried.map((backend) => backend.id)).toEqual(["b0", "b2", "b1"]);
    expect(selector.fallbacks).toBe(0);
    expect(selector.describe(pool.require("b2"))).toMatch(/no fresh metrics/);
  });

  it("falls back to round-robin when every sample is stale, and counts it", () => {
    const { store, selector, advance } = setup(3, { ttlMs: 2000 });
    store.write("b0", { cpu: 90, memory: 0, network: 0 });
    store.write("b1", { cpu: 5, memory: 0, network: 0 });
    store.write("b2", { cpu: 90, memory: 0, network: 0 });
    advance(2000);
    expect(selector.pick({}, [])?.id).toBe("b1");
    advance(1);
    const ids = Array.from({ length: 6 }, () => selector.pick({}, [])?.id);
    expect(ids).toEqual(["b0", "b1", "b2", "b0", "b1", "b2"]);
    expect(selector.fallbacks).toBe(6);
    expect(selector.describe(selector.pick({}, []) as Backend)).toMatch(/round-robin fallback/);
    const stats = store.stats();
    expect(stats.fallbacks).toBe(7);
    expect(stats.lookups).toBe(8 * 3);
    expect(stats.freshLookups).toBe(3);
    expect(stats.backends.b1).toMatchObject({ cpu: 5, fresh: false, ageMs: 2001 });
  });

  it("with fallback none, rotates among the backends without counting a fallback", () => {
    const { selector, store } = setup(3, { fallback: "none" });
    const counts = countPicks(selector, 300);
    expect([...counts.values()]).toEqual([100, 100, 100]);
    expect(selector.fallbacks).toBe(0);
    expect(store.stats().fallbacks).toBe(0);
  });

  it("treats a backend of weight 0 as the last resort", () => {
    const { store, selector, pool } = setup(2);
    pool.setWeight("b0", 0);
    store.write("b0", { cpu: 0, memory: 0, network: 0 });
    store.write("b1", { cpu: 99, memory: 99, network: 0 });
    expect(selector.pick({}, [])?.id).toBe("b1");
    expect(selector.pick({}, [pool.require("b1")])?.id).toBe("b0");
  });

  it("rejects bad options", () => {
    expect(metrics.options.safeParse({ weights: { cpu: -1 } }).success).toBe(false);
    expect(metrics.options.safeParse({ netCapacityBytesPerSec: 0 }).success).toBe(false);
    expect(metrics.options.safeParse({ bogus: 1 }).success).toBe(false);
  });
});

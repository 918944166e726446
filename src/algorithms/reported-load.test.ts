import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { ResourceReportStore } from "../load/resource-reports.js";
import { loadScore, type ReportedLoadSelector, reportedLoad } from "./reported-load.js";
import { countPicks, follow, makePool, runSelectorSuite, testEnv, triedOrder } from "./selector.case.js";

const create = (options: Record<string, unknown> = {}, resourceReports?: ResourceReportStore) =>
  reportedLoad.create(reportedLoad.options.parse(options), {
    ...testEnv(),
    resourceReports,
  }) as ReportedLoadSelector;

// The shared contract runs on a store giving every backend the same figures.
const sameFigures = new ResourceReportStore({ ttlMs: Number.MAX_SAFE_INTEGER });
for (let i = 0; i < 16; i++) sameFigures.write(`b${i}`, { cpu: 10, memory: 10, network: 0 });

runSelectorSuite("metrics", { create: () => create({}, sameFigures), weighted: false });

/** A pool of `count` backends, a selector reading a store on a hand-driven clock. */
function setup(count: number, options: { ttlMs?: number; fallback?: "round-robin" | "none" } = {}) {
  let time = 0;
  const store = new ResourceReportStore({ ...options, now: () => time });
  const pool = makePool(count);
  const selector = create({}, store);
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
    expect(loadScore({ cpu: 40, memory: 50, network: 500 }, weights, 1000)).toBeCloseTo(20 + 15 + 10);
    expect(loadScore({ cpu: 0, memory: 0, network: 1e12 }, weights, 1000)).toBeCloseTo(20);
  });

  it("takes the least-loaded backend (SwarmGuard's unit test); with predict: false, every pick until the next report", () => {
    for (const predict of [true, false]) {
      const { store, pool } = setup(3);
      const selector = follow(pool, create({ predict }, store));
      store.write("b0", { cpu: 80, memory: 10, network: 0 });
      store.write("b1", { cpu: 45, memory: 10, network: 0 });
      store.write("b2", { cpu: 60, memory: 10, network: 0 });
      expect(selector.pick({}, acceptReady)?.id).toBe("b1");
      if (!predict) {
        expect([...countPicks(selector, 50).entries()]).toEqual([["b1", 50]]);
        expect(selector.describe(pool.require("b1"))).toMatch(/^lowest load score 25.5 \(cpu 45%/);
      }
    }
  });

  it("between reports, scales each backend's figures by the requests sent to it since", () => {
    const { store, selector, pool, advance } = setup(3);
    store.write("b0", { cpu: 80, memory: 10, network: 0 }); // score 43
    store.write("b1", { cpu: 45, memory: 10, network: 0 }); // 25.5
    store.write("b2", { cpu: 60, memory: 10, network: 0 }); // 33
    // No history yet: each request sent counts as the backend's whole load (score × (1 + sent)),
    // so the picks interleave, the least loaded most: about in proportion to 1 / score.
    const first = countPicks(selector, 300);
    const [b0, b1, b2] = ["b0", "b1", "b2"].map((id) => first.get(id) ?? 0) as [number, number, number];
    expect(b1).toBeGreaterThan(b2);
    expect(b2).toBeGreaterThan(b0);
    expect(b0).toBeGreaterThan(0);
    expect(b1 / b0).toBeCloseTo(43 / 25.5, 1);
    expect(selector.describe(pool.require("b1"))).toMatch(
      /^lowest predicted load score [\d.]+: figures × [\d.]+ \(\d+ sent since the report, 1 over the interval before; cpu 45%/,
    );
    // The next round of reports says the split evened the load: it is kept.
    advance(1000);
    for (const id of ["b0", "b1", "b2"]) store.write(id, { cpu: 50, memory: 10, network: 0 });
    const second = countPicks(selector, 300);
    for (const id of ["b0", "b1", "b2"]) {
      expect(Math.abs((second.get(id) ?? 0) - (first.get(id) ?? 0))).toBeLessThanOrEqual(2);
    }
  });

  it("takes weights from its options", () => {
    let time = 0;
    const store = new ResourceReportStore({ now: () => time });
    const pool = makePool(2);
    const selector = follow(pool, create({ weights: { cpu: 0, memory: 1, network: 0 } }, store));
    store.write("b0", { cpu: 5, memory: 90, network: 0 });
    store.write("b1", { cpu: 95, memory: 10, network: 0 });
    time += 1;
    expect(selector.pick({}, acceptReady)?.id).toBe("b1");
  });

  it("walks candidates from least to most loaded as backends are tried", () => {
    const { store, selector } = setup(3);
    store.write("b0", { cpu: 30, memory: 0, network: 0 });
    store.write("b1", { cpu: 10, memory: 0, network: 0 });
    store.write("b2", { cpu: 20, memory: 0, network: 0 });
    expect(triedOrder(selector)).toEqual(["b1", "b2", "b0"]);
  });

  it("scores a backend without fresh metrics as the mean of the others", () => {
    const { store, selector, pool } = setup(3);
    store.write("b0", { cpu: 20, memory: 0, network: 0 });
    store.write("b1", { cpu: 60, memory: 0, network: 0 });
    // b2 has no metrics: mean score 20, between b0 (10) and b1 (30).
    expect(triedOrder(selector)).toEqual(["b0", "b2", "b1"]);
    expect(selector.fallbacks).toBe(0);
    expect(selector.describe(pool.require("b2"))).toMatch(/no fresh reports/);
  });

  it("falls back to round-robin when every sample is stale, and counts it", () => {
    const { store, selector, advance } = setup(3, { ttlMs: 2000 });
    store.write("b0", { cpu: 90, memory: 0, network: 0 });
    store.write("b1", { cpu: 5, memory: 0, network: 0 });
    store.write("b2", { cpu: 90, memory: 0, network: 0 });
    advance(2000);
    expect(selector.pick({}, acceptReady)?.id).toBe("b1");
    advance(1);
    const ids = Array.from({ length: 6 }, () => selector.pick({}, acceptReady)?.id);
    expect(ids).toEqual(["b0", "b1", "b2", "b0", "b1", "b2"]);
    expect(selector.fallbacks).toBe(6);
    expect(selector.describe(selector.pick({}, acceptReady) as Backend)).toMatch(/round-robin fallback/);
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
    expect(selector.pick({}, acceptReady)?.id).toBe("b1");
    expect(selector.pick({}, acceptUntried([pool.require("b1")]))?.id).toBe("b0");
  });

  it("rejects bad options", () => {
    expect(reportedLoad.options.safeParse({ weights: { cpu: -1 } }).success).toBe(false);
    expect(reportedLoad.options.safeParse({ netCapacityBytesPerSec: 0 }).success).toBe(false);
    expect(reportedLoad.options.safeParse({ bogus: 1 }).success).toBe(false);
  });
});

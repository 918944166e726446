import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady } from "../core/selector.js";
import { ResourceReportStore } from "../load/resource-reports.js";
import { type HybridSelector, hybrid } from "./hybrid.js";
import { countPicks, follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const sameFigures = new ResourceReportStore({ ttlMs: Number.MAX_SAFE_INTEGER });
for (let i = 0; i < 16; i++) sameFigures.write(`b${i}`, { cpu: 30, memory: 20, network: 0 });

runSelectorSuite("hybrid", {
  create: (env) => hybrid.create(hybrid.options.parse({}), { ...env, resourceReports: sameFigures }),
  weighted: true,
});

function setup(count: number, options: Record<string, unknown> = {}, fallback?: "round-robin" | "none") {
  let time = 0;
  const store = new ResourceReportStore({ now: () => time, fallback });
  const pool = makePool(count);
  const selector = follow(
    pool,
    hybrid.create(hybrid.options.parse(options), {
      random: testEnv().random,
      now: () => time,
      resourceReports: store,
    }),
  ) as HybridSelector;
  return {
    pool,
    store,
    selector,
    set: (ms: number) => {
      time = ms;
    },
  };
}

describe("hybrid", () => {
  it("scores leases·10 + the metrics score", () => {
    const { pool, store, selector } = setup(2);
    store.write("b0", { cpu: 20, memory: 0, network: 0 });
    store.write("b1", { cpu: 60, memory: 0, network: 0 });
    const [a, b] = pool.backends as [Backend, Backend];
    expect(selector.score(a)).toBe(10);
    expect(selector.score(b)).toBe(30);
    selector.pick({}, acceptReady);
    expect(selector.score(a)).toBe(20);
  });

  it("balances in-flight work: the busier backend still gets a share, the idler one more", () => {
    const { pool, store, selector } = setup(2);
    // Load scores 10 and 35: worth two and a half leases.
    store.write("b0", { cpu: 20, memory: 0, network: 0 });
    store.write("b1", { cpu: 70, memory: 0, network: 0 });
    const first = Array.from({ length: 4 }, () => selector.pick({}, acceptReady)?.id);
    expect(first).toEqual(["b0", "b0", "b0", "b1"]);
    countPicks(selector, 1000);
    // All 1004 leases are live (no time passed): the idle backend holds two or three more.
    const a = selector.leases.count(pool.require("b0"));
    const b = selector.leases.count(pool.require("b1"));
    expect(a + b).toBe(1004);
    expect(a - b).toBeGreaterThanOrEqual(2);
    expect(a - b).toBeLessThanOrEqual(3);
  });

  it("with releaseOnFinish, steers new work away from a backend whose requests are stuck", () => {
    const { pool, store, selector } = setup(2, { releaseOnFinish: true });
    store.write("b0", { cpu: 10, memory: 0, network: 0 });
    store.write("b1", { cpu: 10, memory: 0, network: 0 });
    const [a, b] = pool.backends as [Backend, Backend];
    // Twenty requests: those on a finish at once, those on b hang.
    let onB = 0;
    for (let i = 0; i < 20; i++) {
      const backend = selector.pick({}, acceptReady) as Backend;
      if (backend === a) selector.observe(a, { status: 200 });
      else onB++;
    }
    expect(onB).toBe(1);
    expect(selector.leases.count(b)).toBe(1);
    expect(selector.leases.count(a)).toBe(0);
  });

  it("leases expire after leaseDurationMs", () => {
    const { pool, store, selector, set } = setup(1, { leaseDurationMs: 1000 });
    store.write("b0", { cpu: 10, memory: 0, network: 0 });
    selector.pick({}, acceptReady);
    set(999);
    expect(selector.leases.count(pool.require("b0"))).toBe(1);
    set(1000);
    expect(selector.leases.count(pool.require("b0"))).toBe(0);
  });

  it("ranks by leases alone when metrics are missing and the fallback is none", () => {
    const { selector } = setup(3, {}, "none");
    const ids = Array.from({ length: 6 }, () => selector.pick({}, acceptReady)?.id);
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
    expect(selector.fallbacks).toBe(0);
  });

  it("falls back to round-robin (taking leases still) when metrics are missing", () => {
    const { pool, selector, store } = setup(2);
    expect(selector.pick({}, acceptReady)?.id).toBe("b0");
    expect(selector.pick({}, acceptReady)?.id).toBe("b1");
    expect(selector.fallbacks).toBe(2);
    expect(store.stats().fallbacks).toBe(2);
    expect(selector.leases.count(pool.require("b0"))).toBe(1);
  });
});

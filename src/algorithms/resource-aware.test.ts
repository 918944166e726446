import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady } from "../core/selector.js";
import { ResourceReportStore } from "../load/resource-reports.js";
import { type ResourceAwareSelector, resourceAware } from "./resource-aware.js";
import { countPicks, follow, makePool, runSelectorSuite } from "./selector.case.js";

const sameFigures = new ResourceReportStore({ ttlMs: Number.MAX_SAFE_INTEGER });
for (let i = 0; i < 16; i++) sameFigures.write(`b${i}`, { cpu: 30, memory: 20, network: 0 });

const create = (options: Record<string, unknown> = {}, resourceReports: ResourceReportStore = sameFigures) =>
  resourceAware.create(resourceAware.options.parse(options), {
    random: Math.random,
    now: () => 0,
    resourceReports,
  }) as ResourceAwareSelector;

runSelectorSuite("resource-aware", { create: () => create(), weighted: true });

function setup(count: number) {
  const store = new ResourceReportStore({ now: () => 0 });
  const pool = makePool(count);
  const selector = create({}, store);
  follow(pool, selector);
  return { pool, store, selector };
}

describe("resource-aware", () => {
  it("weighs cpu 40%, memory 30%, connections 30%", () => {
    const { pool, store, selector } = setup(2);
    store.write("b0", { cpu: 50, memory: 40, network: 0 });
    store.write("b1", { cpu: 10, memory: 10, network: 0 });
    const [a, b] = pool.backends as [Backend, Backend];
    expect(selector.score(a)).toBeCloseTo(0.4 * 50 + 0.3 * 40);
    b.inFlight = 4;
    // b is now the busiest: connections 100% → +30.
    expect(selector.score(b)).toBeCloseTo(0.4 * 10 + 0.3 * 10 + 30);
    expect(selector.pick({}, acceptReady)).toBe(a);
    b.inFlight = 0;
    expect(selector.pick({}, acceptReady)).toBe(b);
  });

  it("keeps in-flight work on the less loaded backend in proportion, not all of it", () => {
    const { store, selector } = setup(2);
    store.write("b0", { cpu: 10, memory: 10, network: 0 });
    store.write("b1", { cpu: 40, memory: 10, network: 0 });
    const counts = countPicks(selector, 1000);
    expect(counts.get("b0")).toBeGreaterThan(counts.get("b1") ?? 0);
    expect(counts.get("b1") ?? 0).toBeGreaterThan(0);
  });

  it("penalises a degraded backend and one that fails", () => {
    const { pool, store, selector } = setup(2);
    store.write("b0", { cpu: 10, memory: 10, network: 0 });
    store.write("b1", { cpu: 10, memory: 10, network: 0 });
    const [a, b] = pool.backends as [Backend, Backend];
    pool.setState("b0", "degraded");
    expect(selector.health(a)).toBe(0.5);
    expect(selector.score(a) - selector.score(b)).toBeCloseTo(25);
    expect(selector.pick({}, acceptReady)).toBe(b);
    for (let i = 0; i < 10; i++) selector.observe(b, { status: i % 2 ? 200 : 503 });
    expect(selector.health(b)).toBe(0.5);
    expect(selector.describe(b)).toMatch(/health 0.5/);
  });

  it("falls back to round-robin without metrics and counts it", () => {
    const { store, selector } = setup(2);
    const ids = Array.from({ length: 4 }, () => selector.pick({}, acceptReady)?.id);
    expect(ids).toEqual(["b0", "b1", "b0", "b1"]);
    expect(store.stats().fallbacks).toBe(4);
  });
});

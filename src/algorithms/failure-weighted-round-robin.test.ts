import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { FailureWeightedRoundRobinSelector } from "./failure-weighted-round-robin.js";
import { countPicks, follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = (minShare = 0.1) => new FailureWeightedRoundRobinSelector({ window: 20, minShare });

runSelectorSuite("failure-weighted-round-robin", { create: () => create(), weighted: true });

describe("failure-weighted-round-robin", () => {
  it("cuts a failing backend's share by its failure rate", () => {
    const pool = makePool(2);
    const selector = follow(pool, create());
    const [a] = pool.backends as [Backend, Backend];
    for (let i = 0; i < 20; i++)
      selector.observe?.(a, i % 4 === 0 ? { status: 200 } : { error: "ECONNRESET" });
    // 75% failures: weight 1 → 0.25, so a gets 0.25 / 1.25 = 20% of picks.
    const counts = countPicks(selector, 1000);
    expect((counts.get("b0") ?? 0) / 1000).toBeCloseTo(0.2, 1);
  });

  it("keeps at least minShare of the weight so a recovering backend is still probed", () => {
    const pool = makePool(2);
    const selector = follow(pool, create(0.1));
    const [a] = pool.backends as [Backend, Backend];
    for (let i = 0; i < 20; i++) selector.observe?.(a, { error: "ECONNREFUSED" });
    const counts = countPicks(selector, 1100);
    expect(counts.get("b0")).toBe(100);
  });
});

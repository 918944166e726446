import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { healthScore } from "./health-score.js";
import { countPicks, follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = () => healthScore.create(healthScore.options.parse({}), { random: Math.random, now: () => 0 });

runSelectorSuite("health-score", { create, weighted: true });

describe("health-score", () => {
  it("treats a backend failing half its requests as twice as loaded", () => {
    const pool = makePool(2);
    const selector = follow(pool, create());
    const [a, b] = pool.backends as [Backend, Backend];
    for (let i = 0; i < 10; i++) selector.observe?.(a, i % 2 ? { status: 200 } : { status: 503 });
    expect(selector.score?.(a)).toBeCloseTo(2 * (selector.score?.(b) as number));
    const counts = countPicks(selector, 3000);
    // Equilibrium: a's in-flight share settles near half of b's.
    expect((counts.get("b1") ?? 0) / (counts.get("b0") ?? 1)).toBeGreaterThan(1.5);
  });

  it("treats a degraded backend (at half weight) as twice as loaded", () => {
    const pool = makePool(2);
    const selector = follow(pool, create());
    pool.setState("b0", "degraded");
    const [a, b] = pool.backends as [Backend, Backend];
    expect(selector.score?.(a)).toBeCloseTo(2 * (selector.score?.(b) as number));
  });
});

import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { type LeaseSelector, lease } from "./lease.js";
import { countPicks, follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

runSelectorSuite("lease", {
  create: (env) => lease.create(lease.options.parse({}), env),
  weighted: true,
});

function setup(count: number, options: Record<string, unknown> = {}) {
  let time = 0;
  const pool = makePool(count);
  const selector = follow(
    pool,
    lease.create(lease.options.parse(options), { random: testEnv().random, now: () => time }),
  ) as LeaseSelector;
  return {
    pool,
    selector,
    set: (ms: number) => {
      time = ms;
    },
  };
}

describe("lease", () => {
  it("routes each request to the backend with the fewest live leases", () => {
    const { selector } = setup(3);
    const ids = Array.from({ length: 6 }, () => selector.pick({}, acceptReady)?.id);
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
    expect(new Set(ids.slice(3)).size).toBe(3);
  });

  it("leases expire after 30 s by default, so a backend's old traffic stops counting", () => {
    const { pool, selector, set } = setup(2);
    const [a, b] = pool.backends as [Backend, Backend];
    // Ten requests pinned to a (b tried), at t = 0.
    for (let i = 0; i < 10; i++) expect(selector.pick({}, acceptUntried([b]))).toBe(a);
    set(15_000);
    expect(selector.leases.count(a)).toBe(10);
    expect(selector.pick({}, acceptReady)).toBe(b);
    set(29_999);
    expect(selector.leases.count(a)).toBe(10);
    set(30_000);
    expect(selector.leases.count(a)).toBe(0);
    expect(selector.leases.count(b)).toBe(1);
    expect(selector.pick({}, acceptReady)).toBe(a);
    expect(selector.describe(a)).toBe("fewest live leases per weight (1 leases, weight 1)");
  });

  it("takes leaseDurationMs from its options", () => {
    const { pool, selector, set } = setup(1, { leaseDurationMs: 500 });
    selector.pick({}, acceptReady);
    set(499);
    expect(selector.leases.count(pool.require("b0"))).toBe(1);
    set(500);
    expect(selector.leases.count(pool.require("b0"))).toBe(0);
  });

  it("with releaseOnFinish, counts in-flight work: finished requests free their lease", () => {
    const { pool, selector } = setup(2, { releaseOnFinish: true });
    const [a, b] = pool.backends as [Backend, Backend];
    for (let i = 0; i < 4; i++) selector.pick({}, acceptUntried([b]));
    for (let i = 0; i < 4; i++) selector.observe(a, { status: 200 });
    expect(selector.leases.count(a)).toBe(0);
    const counts = countPicks(selector, 100, 1);
    expect(counts.get("b0")).toBe(50);
  });
});

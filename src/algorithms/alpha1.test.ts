import { describe, expect, it } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import { seededRandom } from "../core/random.js";
import { acceptReady, acceptUntried, type SelectorEnv } from "../core/selector.js";
import { ADAPT_EVERY, type Alpha1Options, type Alpha1Selector, alpha1, HEDGE_CANCELLED } from "./alpha1.js";
import { describeOptions } from "./registry.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = (env: SelectorEnv, options: Partial<Alpha1Options> = {}) =>
  alpha1.create(alpha1.options.parse(options), env) as Alpha1Selector;

runSelectorSuite("alpha1", { create: (env) => create(env), weighted: true });

function setup(count: number, options: Partial<Alpha1Options> = {}) {
  let now = 0;
  const env: SelectorEnv = { random: seededRandom(11), now: () => now };
  const pool = makePool(count);
  const selector = follow(pool, create(env, options)) as Alpha1Selector;
  const open = (backend: Backend) => {
    backend.inFlight++;
    selector.loadChanged(backend);
  };
  const close = (backend: Backend, outcome: { latencyMs?: number; error?: string; status?: number }) => {
    backend.inFlight--;
    selector.loadChanged(backend);
    selector.observe(backend, outcome);
  };
  return { pool, selector, open, close, advance: (ms: number) => (now += ms) };
}

describe("alpha1: options", () => {
  it("fills defaults, nested hedge options included", () => {
    expect(alpha1.options.parse({})).toEqual({
      alpha: 0.05,
      beta: 1,
      gamma: 1,
      failurePenaltyMs: 1000,
      hedge: { enabled: true, quantile: 0.95, minDelayMs: 1, budget: 0.05 },
    });
    expect(alpha1.options.parse({ hedge: { enabled: false } }).hedge).toEqual({
      enabled: false,
      quantile: 0.95,
      minDelayMs: 1,
      budget: 0.05,
    });
  });

  it("rejects out-of-range and unknown options", () => {
    for (const bad of [
      { alpha: 0 },
      { beta: -1 },
      { targetP99Ms: 0 },
      { hedge: { quantile: 1 } },
      { hedge: { budget: 1.5 } },
      { hedge: { delay: 3 } },
      { hedges: true },
    ])
      expect(alpha1.options.safeParse(bad).success).toBe(false);
  });

  it("describes every option", () => {
    const schema = describeOptions(alpha1) as { properties: Record<string, { description?: string }> };
    for (const key of ["alpha", "beta", "gamma", "targetP99Ms", "failurePenaltyMs", "hedge"])
      expect(schema.properties[key]?.description).toBeTruthy();
  });
});

describe("alpha1: routing", () => {
  it("steers away from a backend that stopped answering (age), though its measured latency is fine", () => {
    const { pool, selector, open, close, advance } = setup(4);
    const [stalled, ...others] = pool.backends as Backend[];
    for (const backend of pool.backends) {
      open(backend);
      close(backend, { status: 200, latencyMs: 10 });
    }
    open(stalled as Backend);
    for (let i = 0; i < 50; i++) {
      advance(10);
      for (const backend of others) {
        open(backend);
        close(backend, { status: 200, latencyMs: 10 });
      }
    }
    for (let i = 0; i < 200; i++) expect(selector.pick({}, acceptReady)).not.toBe(stalled);
  });

  it("prefers a steady backend to an erratic one with the same mean latency (interference)", () => {
    const { pool, selector, open, close } = setup(2, { gamma: 0 });
    const [steady, erratic] = pool.backends as [Backend, Backend];
    for (let i = 0; i < 400; i++) {
      open(steady);
      close(steady, { status: 200, latencyMs: 20 });
      open(erratic);
      close(erratic, { status: 200, latencyMs: i % 10 === 0 ? 110 : 10 });
    }
    expect(selector.load.work(erratic)).toBeCloseTo(selector.load.work(steady), -1);
    expect(selector.load.interference(erratic)).toBeGreaterThan(3);
    expect(selector.score(erratic)).toBeGreaterThan(selector.score(steady));
    expect(selector.pick({}, acceptReady)).toBe(steady);
  });

  it("does not count a cancelled hedge against its backend", () => {
    const { pool, selector, open, close, advance } = setup(2);
    const [a] = pool.backends as [Backend];
    open(a);
    close(a, { status: 200, latencyMs: 10 });
    open(a);
    open(a);
    advance(50);
    const before = { work: selector.load.work(a), interference: selector.load.interference(a) };
    close(a, { error: HEDGE_CANCELLED });
    expect(selector.load.interference(a)).toBe(before.interference);
    // One fewer in flight, same latency estimate; and the age clock still runs from before the cancel.
    expect(selector.load.work(a)).toBe((before.work * 2) / 3);
    expect(selector.load.age(a)).toBe(50);
    expect(selector.hedging.latencies.samples).toBe(1);
  });

  it("measures a backend afresh when it comes back from unready", () => {
    const { pool, selector, open, close } = setup(3);
    const [a, b] = pool.backends as [Backend, Backend];
    open(a);
    close(a, { status: 200, latencyMs: 10 });
    open(b);
    close(b, { error: "connection refused", latencyMs: 1 });
    expect(selector.score(b)).toBeGreaterThan(500);
    pool.setState("b1", "unhealthy");
    pool.setState("b1", "healthy");
    expect(selector.score(b)).toBe(selector.load.work(b));
    expect(selector.load.work(b)).toBe(10);
  });

  it("raises β and γ when the p99 climbs past the target", () => {
    const { pool, selector, open, close } = setup(2, { targetP99Ms: 50 });
    const [a] = pool.backends as [Backend];
    for (let i = 0; i < ADAPT_EVERY * 3; i++) {
      open(a);
      close(a, { status: 200, latencyMs: 10 });
    }
    expect(selector.figures()).toMatchObject({ beta: 1, gamma: 1, targetP99Ms: 50 });
    for (let i = 0; i < ADAPT_EVERY * 3; i++) {
      open(a);
      close(a, { status: 200, latencyMs: i % 10 === 0 ? 200 : 10 });
    }
    const stats = selector.figures();
    expect(stats.p99Ms).toBeGreaterThan(50);
    expect(stats.beta).toBeGreaterThan(1);
    expect(stats.gamma).toBe(stats.beta);
  });

  it("explains the score term by term", () => {
    const { pool, selector, open, close } = setup(2);
    const [a] = pool.backends as [Backend];
    open(a);
    close(a, { status: 200, latencyMs: 12 });
    expect(selector.describe(a)).toMatch(/work 12 \+ β 1 × interference 0 \+ γ 1 × age 0\) \/ weight 1/);
  });
});

describe("alpha1: hedging", () => {
  it("counts each request once (first picks only), and answers the caller's two questions", () => {
    const { selector, open, close } = setup(3);
    const tried: Backend[] = [];
    const first = selector.pick({}, acceptUntried(tried), tried) as Backend;
    tried.push(first);
    selector.pick({}, acceptUntried(tried), tried);
    expect(selector.hedging.stats().requests).toBe(1);
    expect(selector.hedgeAllowed({ method: "GET" })).toBe(true);
    expect(selector.hedgeAllowed({})).toBe(true);
    expect(selector.hedgeAllowed({ method: "POST" })).toBe(false);
    expect(selector.hedgeAllowed({ method: "PATCH" })).toBe(false);
    // Not enough samples (nor budget) yet.
    expect(selector.hedgeDelayMs()).toBeUndefined();
    for (let i = 0; i < 200; i++) {
      selector.pick({}, acceptReady);
      open(first);
      close(first, { status: 200, latencyMs: 1 + (i % 20) });
    }
    expect(selector.hedgeDelayMs()).toBeGreaterThan(17);
    expect(selector.hedgeDelayMs()).toBeLessThan(21);
  });

  it("never hedges when disabled", () => {
    const { selector, open, close } = setup(3, {
      hedge: { enabled: false, quantile: 0.95, minDelayMs: 1, budget: 1 },
    });
    const [a] = [selector.pick({}, acceptReady) as Backend];
    for (let i = 0; i < 500; i++) {
      selector.pick({}, acceptReady);
      open(a);
      close(a, { status: 200, latencyMs: 5 });
    }
    expect(selector.hedgeAllowed({ method: "GET" })).toBe(false);
    expect(selector.hedgeDelayMs()).toBeUndefined();
    expect(selector.hedging.acquire()).toBe(false);
  });

  it("runs the library flow through a real balancer: hedge, first answer wins, the loser is cancelled", () => {
    let now = 0;
    const balancer = createBalancer({
      backends: [0, 1, 2].map((i) => ({ id: `b${i}`, address: `127.0.0.1:${20_000 + i}` })),
      algorithm: "alpha1",
      random: seededRandom(3),
      now: () => now,
      circuitBreaker: false,
    });
    for (let i = 0; i < 300; i++) {
      const decision = balancer.select({ method: "GET" });
      now += 1;
      decision.finish({ status: 200, latencyMs: 10 });
    }
    const decision = balancer.select({ method: "GET" });
    const hedge = decision.hedge();
    if (!hedge) throw new Error("no hedge candidate");
    expect(hedge.backend).not.toBe(decision.backend);
    const loserScore = () =>
      balancer.explain(decision).candidates.find((c) => c.id === decision.backend.id)?.score;
    now += 40;
    hedge.finish({ status: 200, latencyMs: 5 });
    const before = loserScore() as number;
    decision.finish({ error: HEDGE_CANCELLED });
    // In flight fell by one; nothing else moved: not a failure for the algorithm.
    expect(loserScore()).toBeLessThan(before);
    expect(loserScore()).toBeLessThan(100);
    expect(balancer.stats().hedges).toBe(1);
    expect(balancer.stats().inFlight).toBe(0);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../core/random.js";
import {
  BUDGET_WINDOW,
  HEDGE_CANCELLED,
  type HedgeOptions,
  HedgePolicy,
  isIdempotent,
  MIN_BUDGET_SHARE,
  MIN_SAMPLES,
} from "./hedge-policy.js";

const defaults: HedgeOptions = { enabled: true, quantile: 0.95, minDelayMs: 1, budget: 0.05 };

function warmed(options: Partial<HedgeOptions> = {}, latencyMs = (i: number) => 1 + (i % 100)): HedgePolicy {
  const policy = new HedgePolicy({ ...defaults, ...options });
  for (let i = 0; i < 1000; i++) {
    policy.countRequest();
    policy.observe({ status: 200, latencyMs: latencyMs(i) });
  }
  return policy;
}

describe("HedgePolicy: which requests", () => {
  it("hedges idempotent methods only; no method counts as GET", () => {
    const policy = new HedgePolicy(defaults);
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "get"])
      expect(policy.allows({ method })).toBe(true);
    for (const method of ["POST", "PATCH", "CONNECT", "PROPFIND"])
      expect(policy.allows({ method })).toBe(false);
    expect(policy.allows({})).toBe(true);
    expect(isIdempotent({ method: "POST" })).toBe(false);
  });

  it("hedges nothing when disabled", () => {
    const policy = warmed({ enabled: false });
    expect(policy.allows({ method: "GET" })).toBe(false);
    expect(policy.delayMs()).toBeUndefined();
    expect(policy.acquire()).toBe(false);
  });
});

describe("HedgePolicy: delay", () => {
  it("waits for enough samples, then hedges after the configured quantile of attempt latencies", () => {
    const policy = new HedgePolicy(defaults);
    for (let i = 0; i < MIN_SAMPLES - 1; i++) {
      policy.countRequest();
      policy.observe({ status: 200, latencyMs: 10 });
    }
    expect(policy.delayMs()).toBeUndefined();
    const uniform = warmed();
    // Latencies 1..100 ms evenly: p95 ≈ 95 ms (4% buckets).
    expect(uniform.delayMs()).toBeGreaterThan(91);
    expect(uniform.delayMs()).toBeLessThan(99);
    expect(warmed({ quantile: 0.5 }).delayMs()).toBeLessThan(53);
  });

  it("never hedges sooner than minDelayMs", () => {
    expect(warmed({ minDelayMs: 250 }).delayMs()).toBe(250);
  });

  it("learns only from successful attempts: failures and cancelled hedges are no samples", () => {
    const policy = warmed({}, () => 10);
    for (let i = 0; i < 5000; i++) {
      policy.observe({ error: HEDGE_CANCELLED, latencyMs: 900 });
      policy.observe({ error: "connection reset", latencyMs: 900 });
      policy.observe({ status: 503, latencyMs: 900 });
    }
    expect(policy.latencies.samples).toBe(1000);
    expect(policy.delayMs()).toBeLessThan(11);
  });
});

describe("HedgePolicy: budget", () => {
  it("never lets hedges exceed budget × requests, nor budget × (n + window) over any n consecutive requests", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.constantFrom(0.01, 0.05, 0.2),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, budget, eagerness) => {
          const random = seededRandom(seed);
          const policy = new HedgePolicy({ ...defaults, budget });
          // hedgesAt[r] = hedges granted once r requests had arrived.
          const hedgesAt: number[] = [0];
          let hedges = 0;
          let worstExcess = Number.NEGATIVE_INFINITY;
          for (let request = 1; request <= 5000; request++) {
            policy.countRequest();
            policy.observe({ status: 200, latencyMs: 1 + random() * 50 });
            // A caller that tries to hedge as much as it likes (several per request at times).
            while (random() < eagerness && policy.acquire()) hedges++;
            worstExcess = Math.max(worstExcess, hedges - budget * request);
            hedgesAt.push(hedges);
          }
          expect(worstExcess).toBeLessThanOrEqual(1e-6);
          for (const n of [50, 500, 2000]) {
            for (let end = n; end < hedgesAt.length; end += 97) {
              const inWindow = (hedgesAt[end] as number) - (hedgesAt[end - n] as number);
              expect(inWindow).toBeLessThanOrEqual(budget * (n + BUDGET_WINDOW) + 1e-6);
            }
          }
          expect(policy.stats().hedges).toBe(hedges);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("spends the whole budget for a caller that hedges whenever it may", () => {
    const policy = new HedgePolicy(defaults);
    let hedges = 0;
    for (let i = 0; i < 100_000; i++) {
      policy.countRequest();
      if (policy.acquire()) hedges++;
    }
    expect(hedges / 100_000).toBeGreaterThan(0.0499);
    expect(hedges / 100_000).toBeLessThanOrEqual(0.05);
  });

  it("says so in delayMs when the budget is spent", () => {
    const policy = warmed();
    while (policy.acquire());
    expect(policy.delayMs()).toBeUndefined();
    for (let i = 0; i < 20; i++) policy.countRequest();
    expect(policy.delayMs()).toBeDefined();
  });

  it("shrinks the budget to a tenth while hedges rarely win, and restores it when they do", () => {
    const policy = new HedgePolicy(defaults);
    for (let i = 0; i < 300; i++) policy.settled(false);
    expect(policy.stats().winRate).toBeLessThan(0.01);
    expect(policy.stats().budgetShare).toBe(MIN_BUDGET_SHARE);
    let hedges = 0;
    for (let i = 0; i < 100_000; i++) {
      policy.countRequest();
      if (policy.acquire()) hedges++;
    }
    expect(hedges / 100_000).toBeCloseTo(0.05 * MIN_BUDGET_SHARE, 3);
    for (let i = 0; i < 300; i++) policy.settled(true);
    expect(policy.stats().budgetShare).toBe(1);
  });
});

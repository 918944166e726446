/**
 * The shared contract every selector must meet (after Hono's shared router
 * suite): each algorithm's test calls `runSelectorSuite`. Properties run over
 * random pools with fast-check, so "never picks an unready backend" is checked
 * against thousands of shapes, not three hand-picked ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend, BackendState } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { Pool } from "../core/pool.js";
import { seededRandom } from "../core/random.js";
import { acceptReady, acceptUntried, type Selector, type SelectorEnv } from "../core/selector.js";

export interface SelectorSuiteOptions {
  create: (env: SelectorEnv) => Selector;
  /** Whether picks follow weights (share proportional to weight over many picks). */
  weighted: boolean;
}

export function testEnv(seed = 42): SelectorEnv {
  let time = 0;
  return { random: seededRandom(seed), now: () => time++ };
}

/** A pool of `count` backends on distinct ports, ids b0..b(n-1). */
export function makePool(count: number, weights: readonly number[] = []): Pool {
  const pool = new Pool();
  for (let i = 0; i < count; i++)
    pool.add({ id: `b${i}`, address: `127.0.0.1:${10_000 + i}`, weight: weights[i] ?? 1 });
  return pool;
}

/** A selector following `pool`, rebuilt on every change as the balancer does. */
export function follow(pool: Pool, selector: Selector): Selector {
  const rebuild = () => selector.rebuild(pool.backends);
  pool.on("changed", rebuild);
  pool.on("state-changed", rebuild);
  pool.on("enabled-changed", rebuild);
  rebuild();
  return selector;
}

/** The ids `selector` offers for `ctx` when each backend in turn is tried and fails (failover order). */
export function triedOrder(selector: Selector, ctx: RequestContext = {}): string[] {
  const tried: Backend[] = [];
  for (
    let backend = selector.pick(ctx, acceptUntried(tried), tried);
    backend;
    backend = selector.pick(ctx, acceptUntried(tried), tried)
  )
    tried.push(backend);
  return tried.map((backend) => backend.id);
}

/**
 * Picks `n` times, keeping the last `concurrency` attempts open (each closes
 * `concurrency` picks after it opened) the way the balancer counts in-flight
 * work, so load-aware selectors see a steady concurrent load.
 */
export function countPicks(selector: Selector, n: number, concurrency = 12): Map<string, number> {
  const counts = new Map<string, number>();
  const open: Backend[] = [];
  const settle = (backend: Backend, delta: number) => {
    backend.inFlight += delta;
    selector.loadChanged?.(backend);
  };
  for (let i = 0; i < n; i++) {
    if (open.length === concurrency) settle(open.shift() as Backend, -1);
    const backend = selector.pick({}, acceptReady);
    if (!backend) break;
    settle(backend, +1);
    open.push(backend);
    counts.set(backend.id, (counts.get(backend.id) ?? 0) + 1);
  }
  for (const backend of open) settle(backend, -1);
  return counts;
}

const stateArbitrary = fc.constantFrom<BackendState | "disabled">(
  "healthy",
  "healthy",
  "degraded",
  "unknown",
  "unhealthy",
  "draining",
  "disabled",
);

export function runSelectorSuite(name: string, options: SelectorSuiteOptions): void {
  describe(`${name}: selector contract`, () => {
    it("returns nothing for an empty pool", () => {
      const selector = follow(new Pool(), options.create(testEnv()));
      expect(selector.pick({}, acceptReady)).toBeUndefined();
    });

    it("never picks an unready backend, and finds a ready one whenever one exists", () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ state: stateArbitrary, weight: fc.integer({ min: 1, max: 5 }) }), {
            minLength: 1,
            maxLength: 12,
          }),
          fc.integer(),
          (specs, seed) => {
            const pool = makePool(
              specs.length,
              specs.map((spec) => spec.weight),
            );
            specs.forEach((spec, i) => {
              if (spec.state === "disabled") pool.disable(`b${i}`);
              else pool.setState(`b${i}`, spec.state);
            });
            const selector = follow(pool, options.create(testEnv(seed)));
            const anyReady = pool.backends.some((backend) => backend.ready);
            for (let i = 0; i < 30; i++) {
              const backend = selector.pick({}, acceptReady);
              if (anyReady) expect(backend?.ready).toBe(true);
              else expect(backend).toBeUndefined();
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it("returns only a backend accept takes, and one whenever it takes any", () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ ready: fc.boolean(), refused: fc.boolean() }), {
            minLength: 1,
            maxLength: 12,
          }),
          fc.integer(),
          (specs, seed) => {
            const pool = makePool(specs.length);
            specs.forEach((spec, i) => {
              if (!spec.ready) pool.setState(`b${i}`, "unhealthy");
            });
            const selector = follow(pool, options.create(testEnv(seed)));
            // Refused by the caller's rule alone (a breaker out of probe slots): ready, never tried.
            const refused = new Set(pool.backends.filter((_, i) => specs[i]?.refused));
            const accept = (backend: Backend) => backend.ready && !refused.has(backend);
            const anyAccepted = pool.backends.some(accept);
            for (let i = 0; i < 30; i++) {
              const backend = selector.pick({}, accept);
              if (anyAccepted) expect(backend && accept(backend)).toBe(true);
              else expect(backend).toBeUndefined();
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it("walks every ready backend exactly once as candidates are tried", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 0, max: 9 }),
          fc.integer(),
          (n, down, seed) => {
            const pool = makePool(n);
            if (down < n) pool.setState(`b${down}`, "unhealthy");
            const selector = follow(pool, options.create(testEnv(seed)));
            const tried: Backend[] = [];
            const accept = acceptUntried(tried);
            for (
              let backend = selector.pick({}, accept, tried);
              backend;
              backend = selector.pick({}, accept, tried)
            ) {
              expect(tried).not.toContain(backend);
              tried.push(backend);
              if (tried.length > n) break;
            }
            const ready = pool.backends.filter((backend) => backend.ready);
            expect(new Set(tried)).toEqual(new Set(ready));
          },
        ),
        { numRuns: 200 },
      );
    });

    it("follows removals and additions", () => {
      const pool = makePool(3);
      const selector = follow(pool, options.create(testEnv()));
      void pool.remove("b1");
      expect([...countPicks(selector, 60).keys()]).not.toContain("b1");
      pool.add({ id: "b9", address: "127.0.0.1:10999" });
      expect(countPicks(selector, 300).get("b9") ?? 0).toBeGreaterThan(0);
    });

    it(options.weighted ? "shares traffic in proportion to weight" : "shares traffic evenly", () => {
      const pool = makePool(3, [3, 1, 2]);
      const selector = follow(pool, options.create(testEnv(7)));
      const picks = 6000;
      const counts = countPicks(selector, picks);
      const expected = options.weighted ? [3 / 6, 1 / 6, 2 / 6] : [1 / 3, 1 / 3, 1 / 3];
      expected.forEach((share, i) => {
        expect((counts.get(`b${i}`) ?? 0) / picks).toBeCloseTo(share, 1);
      });
    });
  });
}

/**
 * Properties every key-hashing selector (consistent-hash, ip-hash,
 * bounded-load with no load, maglev) must show, beside the general selector
 * contract: a key sticks to its backend, failover moves to another backend
 * and back, removing one of N backends remaps at most 1/N + 2% of keys,
 * adding one moves keys onto it (and, for a ring, only onto it), and weights
 * set the shares.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Pool } from "../core/pool.js";
import { acceptReady, acceptUntried, type Selector } from "../core/selector.js";
import { follow, makePool } from "./selector.case.js";

export interface HashSelectorSuiteOptions {
  create: () => Selector;
  /** The request context carrying `key`. */
  context: (key: string) => RequestContext;
  /** A ring moves no key between surviving backends; Maglev moves a few. */
  exact: boolean;
}

const KEY_COUNT = 20_000;

export function keyContexts(
  options: HashSelectorSuiteOptions,
  count = KEY_COUNT,
  prefix = "k",
): RequestContext[] {
  return Array.from({ length: count }, (_, i) => options.context(`${prefix}${i}.${(i * 7919) % 251}`));
}

/** The backend id each context lands on (first pick, nothing tried). */
export function assignment(selector: Selector, contexts: readonly RequestContext[]): (string | undefined)[] {
  return contexts.map((ctx) => selector.pick(ctx, acceptReady)?.id);
}

function sharesOf(ids: readonly (string | undefined)[]): Map<string, number> {
  const shares = new Map<string, number>();
  for (const id of ids) shares.set(id ?? "-", (shares.get(id ?? "-") ?? 0) + 1 / ids.length);
  return shares;
}

export function runHashSelectorSuite(name: string, options: HashSelectorSuiteOptions): void {
  const contexts = keyContexts(options);

  describe(`${name}: key hashing`, () => {
    it("sends the same key to the same backend, across instances and pool orders", () => {
      const pool = makePool(20);
      const selector = follow(pool, options.create());
      const first = assignment(selector, contexts.slice(0, 2_000));
      expect(assignment(selector, contexts.slice(0, 2_000))).toEqual(first);
      const reversed = options.create();
      reversed.rebuild([...pool.backends].reverse());
      expect(assignment(reversed, contexts.slice(0, 2_000))).toEqual(first);
      expect(new Set(first).size).toBe(20);
    });

    it("fails over to a different backend, then walks every ready backend once", () => {
      const pool = makePool(8);
      const selector = follow(pool, options.create());
      for (const ctx of contexts.slice(0, 200)) {
        const tried: Backend[] = [];
        const accept = acceptUntried(tried);
        for (
          let backend = selector.pick(ctx, accept, tried);
          backend;
          backend = selector.pick(ctx, accept, tried)
        ) {
          expect(tried).not.toContain(backend);
          tried.push(backend);
        }
        expect(tried.length).toBe(8);
      }
    });

    it("sends a down backend's keys elsewhere and takes them back when it recovers", () => {
      const pool = makePool(10);
      const selector = follow(pool, options.create());
      const before = assignment(selector, contexts);
      pool.setState("b3", "unhealthy");
      const during = assignment(selector, contexts);
      before.forEach((id, i) => {
        if (id === "b3") expect(during[i]).not.toBe("b3");
        else expect(during[i]).toBe(id);
      });
      const landed = new Set(during.filter((_id, i) => before[i] === "b3"));
      expect(landed.size).toBeGreaterThan(5);
      pool.setState("b3", "healthy");
      expect(assignment(selector, contexts)).toEqual(before);
    });

    it("failover from a key's backend goes where the key would go without it", () => {
      if (!options.exact) return;
      const pool = makePool(10);
      const selector = follow(pool, options.create());
      for (const ctx of contexts.slice(0, 300)) {
        const first = selector.pick(ctx, acceptReady) as Backend;
        const next = selector.pick(ctx, acceptUntried([first]), [first]);
        const without = options.create();
        without.rebuild(pool.backends.filter((backend) => backend !== first));
        expect(next?.id).toBe(without.pick(ctx, acceptReady)?.id);
      }
    });

    it("removing 1 of N backends remaps at most 1/N + 2% of keys", () => {
      fc.assert(
        fc.property(fc.integer({ min: 4, max: 48 }), fc.nat(), (n, which) => {
          const pool = makePool(n);
          const selector = follow(pool, options.create());
          const before = assignment(selector, contexts);
          const removed = `b${which % n}`;
          void pool.remove(removed);
          const after = assignment(selector, contexts);
          let moved = 0;
          before.forEach((id, i) => {
            if (id === after[i]) return;
            moved++;
            if (options.exact) expect(id).toBe(removed);
          });
          expect(moved / contexts.length).toBeLessThanOrEqual(1 / n + 0.02);
        }),
        { numRuns: 15 },
      );
    });

    it(
      options.exact
        ? "adding a backend moves keys only onto it"
        : "adding a backend moves few keys between old ones",
      () => {
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 48 }), (n) => {
            const pool = makePool(n);
            const selector = follow(pool, options.create());
            const before = assignment(selector, contexts);
            pool.add({ id: "new", address: "127.0.0.1:9999" });
            const after = assignment(selector, contexts);
            let between = 0;
            before.forEach((id, i) => {
              if (id !== after[i] && after[i] !== "new") between++;
            });
            if (options.exact) expect(between).toBe(0);
            else expect(between / contexts.length).toBeLessThanOrEqual(0.02);
            expect(after.filter((id) => id === "new").length).toBeGreaterThan(0);
          }),
          { numRuns: 15 },
        );
      },
    );

    it("gives weighted backends their weight's share of keys within 2 percentage points", () => {
      const weights = [1, 2, 3, 4, 1, 2, 3, 4];
      const selector = follow(makePool(8, weights), options.create());
      const shares = sharesOf(assignment(selector, keyContexts(options, 100_000, "w")));
      weights.forEach((weight, i) => {
        expect(Math.abs((shares.get(`b${i}`) ?? 0) - weight / 20)).toBeLessThanOrEqual(0.02);
      });
    });
  });
}

/** `follow`, keeping the selector's own type. */
export function track<S extends Selector>(pool: Pool, selector: S): S {
  follow(pool, selector);
  return selector;
}

/** Share of keys per backend id for `pool`, a helper for algorithm-specific spread tests. */
export function keyShares(
  pool: Pool,
  selector: Selector,
  contexts: readonly RequestContext[],
): Map<string, number> {
  follow(pool, selector);
  return sharesOf(assignment(selector, contexts));
}

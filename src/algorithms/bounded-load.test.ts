import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { BoundedLoadSelector, boundedLoadConsistentHash, loadBound } from "./bounded-load.js";
import { ConsistentHashSelector } from "./consistent-hash.js";
import { keyContexts, runHashSelectorSuite, track } from "./hash-selector.case.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const hashKey = { source: "header", name: "x-key" } as const;
const create = (epsilon = 0.25) =>
  new BoundedLoadSelector({ hashKey, hashFunction: "xxhash", virtualNodes: 150, epsilon });
const context = (key: string) => ({ headers: { "x-key": key } });

runSelectorSuite("bounded-load-consistent-hash", { create: () => create(), weighted: true });
runHashSelectorSuite("bounded-load-consistent-hash (idle)", { create: () => create(), context, exact: true });

/** Opens an attempt on the picked backend the way the balancer does. */
function place(selector: BoundedLoadSelector, key: string): Backend {
  const backend = selector.pick(context(key), acceptReady) as Backend;
  backend.inFlight++;
  selector.loadChanged(backend);
  return backend;
}

function close(selector: BoundedLoadSelector, backend: Backend): void {
  backend.inFlight--;
  selector.loadChanged(backend);
}

function totalInFlight(backends: readonly Backend[]): number {
  return backends.reduce((sum, backend) => sum + backend.inFlight, 0);
}

describe("bounded-load-consistent-hash", () => {
  it("with no load, routes exactly like the plain ring", () => {
    const pool = makePool(10);
    const bounded = follow(pool, create());
    const ring = follow(
      pool,
      new ConsistentHashSelector({ hashKey, hashFunction: "xxhash", virtualNodes: 150 }),
    );
    for (const ctx of keyContexts({ create, context, exact: true }, 2_000)) {
      expect(bounded.pick(ctx, acceptReady)).toBe(ring.pick(ctx, acceptReady));
    }
  });

  it("keeps every backend at or under ceil((1 + ε) × average) while requests pile up", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(0.1, 0.25, 0.5, 1),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 150 }),
        (n, epsilon, keys) => {
          const pool = makePool(n);
          const selector = track(pool, create(epsilon));
          for (const key of keys) {
            // Skewed keys: a third of the requests share one hot key.
            place(selector, key % 3 === 0 ? "hot" : `k${key}`);
            const average = totalInFlight(pool.backends) / n;
            const limit = Math.ceil((1 + epsilon) * average);
            for (const backend of pool.backends) expect(backend.inFlight).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("never places a request above the bound, with requests finishing in between", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.record({ open: fc.boolean(), key: fc.integer({ min: 0, max: 20 }), which: fc.nat() }), {
          maxLength: 200,
        }),
        (weights, operations) => {
          const pool = makePool(weights.length, weights);
          const selector = track(pool, create());
          const totalWeight = weights.reduce((a, b) => a + b, 0);
          const open: Backend[] = [];
          for (const { open: opening, key, which } of operations) {
            if (!opening && open.length > 0) {
              close(selector, open.splice(which % open.length, 1)[0] as Backend);
              continue;
            }
            const bound = (backend: Backend) =>
              loadBound(totalInFlight(pool.backends), backend.weight, totalWeight, 0.25);
            const backend = selector.pick(context(key < 8 ? "hot" : `k${key}`), acceptReady) as Backend;
            expect(backend.inFlight + 1).toBeLessThanOrEqual(bound(backend));
            backend.inFlight++;
            selector.loadChanged(backend);
            open.push(backend);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("spills a hot key to the next backends on the ring instead of overloading its own", () => {
    const pool = makePool(8);
    const selector = track(pool, create());
    const home = selector.pick(context("hot"), acceptReady) as Backend;
    for (let i = 0; i < 80; i++) place(selector, "hot");
    // The home backend stays full: 80 in flight over 8 backends, bound ceil(1.25 × 10) = 13.
    expect(home.inFlight).toBe(13);
    expect(Math.max(...pool.backends.map((backend) => backend.inFlight))).toBe(13);
    expect(pool.backends.filter((backend) => backend.inFlight > 0).length).toBeGreaterThan(1);
  });

  it("divides the bound by weight", () => {
    const pool = makePool(2, [1, 3]);
    const selector = track(pool, create(0));
    for (let i = 0; i < 40; i++) place(selector, `k${i % 3}`);
    const [light, heavy] = pool.backends as [Backend, Backend];
    expect(light.inFlight).toBeLessThanOrEqual(10);
    expect(heavy.inFlight).toBeLessThanOrEqual(30);
    expect(light.inFlight + heavy.inFlight).toBe(40);
  });

  it("reads loads already in flight when rebuilt", () => {
    const pool = makePool(4);
    const selector = create();
    for (const backend of pool.backends) backend.inFlight = 10;
    follow(pool, selector);
    const [b0] = pool.backends as [Backend];
    // 40 in flight: bound ceil(1.25 × 41 / 4) = 13.
    expect(selector.bound(b0)).toBe(13);
    b0.inFlight = 13;
    selector.loadChanged(b0);
    expect(selector.bound(b0)).toBe(14);
    expect(selector.score(b0)).toBeCloseTo(13 / 14, 10);
  });

  it("drops the bound rather than refuse when every untried backend is full", () => {
    const pool = makePool(3);
    const selector = track(pool, create());
    const [b0, b1, b2] = pool.backends as [Backend, Backend, Backend];
    b0.inFlight = 0;
    b1.inFlight = 20;
    b2.inFlight = 20;
    for (const backend of pool.backends) selector.loadChanged(backend);
    expect(selector.pick(context("any"), acceptUntried([b0]))).toBeDefined();
  });

  it("explains the bound and parses its options", () => {
    expect(boundedLoadConsistentHash.options.parse({})).toEqual({
      hashKey: { source: "client-ip" },
      hashFunction: "xxhash",
      virtualNodes: 150,
      probes: 3,
      epsilon: 0.25,
    });
    expect(boundedLoadConsistentHash.options.safeParse({ epsilon: 0 }).success).toBe(false);
    expect(boundedLoadConsistentHash.aliases).toEqual(["chbl"]);
    const pool = makePool(2);
    const selector = track(
      pool,
      boundedLoadConsistentHash.create({ ...boundedLoadConsistentHash.options.parse({}) }, testEnv()),
    );
    const backend = selector.pick({ clientIp: "192.0.2.9" }, acceptReady) as Backend;
    expect(selector.describe(backend)).toMatch(
      /hash of client IP .*under the load bound \(0 in flight, bound for the next request 1 at epsilon 0.25\)/,
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried, type SelectorEnv } from "../core/selector.js";
import { mixSigned, signedHashFunctions } from "../hashing/hash-functions.js";
import { rendezvousMemberHash, rendezvousScore } from "../hashing/rendezvous.js";
import { Beta1Selector, beta1, beta1Options } from "./beta1.js";
import { loadBound } from "./bounded-load.js";
import { assignment, keyContexts, runHashSelectorSuite, track } from "./hash-selector.case.js";
import { createSelector } from "./registry.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const hashKey = { source: "header", name: "x-key" } as const;
const context = (key: string) => ({ headers: { "x-key": key } });

function create(env: SelectorEnv = testEnv(), overrides: Partial<typeof beta1Options._input> = {}) {
  return new Beta1Selector(beta1Options.parse({ hashKey, ...overrides }), env);
}

/** A clock the test moves by hand. */
function manualEnv(seed = 1): SelectorEnv & { time: number } {
  const env = { time: 0, random: testEnv(seed).random, now: () => env.time };
  return env;
}

runSelectorSuite("beta1", { create: (env) => create(env), weighted: true });
runHashSelectorSuite("beta1 (idle)", { create: () => create(), context, exact: true });

/** Opens an attempt on the picked backend the way the balancer does. */
function place(selector: Beta1Selector, key: string, tried: readonly Backend[] = []): Backend {
  const backend = selector.pick(context(key), acceptUntried(tried), tried) as Backend;
  backend.inFlight++;
  selector.loadChanged(backend);
  return backend;
}

function close(selector: Beta1Selector, backend: Backend): void {
  backend.inFlight--;
  selector.loadChanged(backend);
}

/**
 * Sends `keys` in order with `concurrency` requests open (each closes
 * `concurrency` requests after it opened); returns the backend ids per key.
 */
function drive(
  selector: Beta1Selector,
  keys: readonly string[],
  concurrency: number,
): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  const open: Backend[] = [];
  for (const key of keys) {
    if (open.length >= concurrency) close(selector, open.shift() as Backend);
    const backend = place(selector, key);
    open.push(backend);
    const ids = seen.get(key) ?? new Set<string>();
    seen.set(key, ids);
    ids.add(backend.id);
  }
  for (const backend of open) close(selector, backend);
  return seen;
}

/** Deterministic pseudo-random key stream over `distinct` keys, with `hotShare` of requests on "hot". */
function keyStream(count: number, distinct: number, hotShare = 0, seed = 3): string[] {
  const random = testEnv(seed).random;
  return Array.from({ length: count }, () =>
    random() < hotShare ? "hot" : `k${Math.floor(random() * distinct)}`,
  );
}

function totalInFlight(backends: readonly Backend[]): number {
  return backends.reduce((sum, backend) => sum + backend.inFlight, 0);
}

/** Backend ids in weighted rendezvous order for `key`, from the reference scoring. */
function rendezvousOrder(backends: readonly Backend[], key: string): string[] {
  const hash = signedHashFunctions.xxhash;
  const keyHash = mixSigned(hash(key));
  const score = (backend: Backend) =>
    rendezvousScore(keyHash, rendezvousMemberHash(backend.id, hash), backend.weight);
  return [...backends].sort((a, b) => score(b) - score(a)).map((backend) => backend.id);
}

/** The bounded-load rule over the reference order, with no hot keys (epsilon 0.25). */
function expectedPick(
  backends: readonly Backend[],
  key: string,
  tried: readonly Backend[],
): string | undefined {
  const counted = backends.filter((backend) => backend.ready && backend.weight > 0);
  const total = totalInFlight(counted);
  const totalWeight = counted.reduce((sum, backend) => sum + backend.weight, 0);
  const eligible = (backend: Backend) => backend.ready && !tried.includes(backend);
  const byId = new Map(backends.map((backend) => [backend.id, backend]));
  const order = rendezvousOrder(backends, key).map((id) => byId.get(id) as Backend);
  const under = order.find(
    (backend) => eligible(backend) && backend.inFlight < loadBound(total, backend.weight, totalWeight, 0.25),
  );
  if (under) return under.id;
  let best: Backend | undefined;
  for (const backend of backends) {
    if (!eligible(backend)) continue;
    const load = (backend.inFlight + 1) / backend.weight;
    if (!best || load < (best.inFlight + 1) / best.weight) best = backend;
  }
  return best?.id;
}

describe("beta1", () => {
  it("ranks backends exactly as weighted rendezvousScore does, walking that order on failover", () => {
    for (const weights of [
      [1, 1, 1, 1, 1, 1],
      [3, 1, 2, 0.5, 4, 1],
      Array.from({ length: 24 }, (_, i) => 1 + i * 0.37),
    ]) {
      const pool = makePool(weights.length, weights);
      const selector = track(pool, create());
      for (let k = 0; k < 300; k++) {
        const key = `key-${k}`;
        const expected = rendezvousOrder(pool.backends, key);
        const tried: Backend[] = [];
        for (let backend = selector.pick(context(key), acceptUntried(tried), tried); backend; ) {
          tried.push(backend);
          backend = selector.pick(context(key), acceptUntried(tried), tried);
        }
        expect(tried.map((backend) => backend.id)).toEqual(expected);
      }
    }
  });

  it("picks the key's first backend under its bound, else the least loaded, memoized or not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }),
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 5 }),
            // Even loads, or most backends far over the bound and a few idle.
            loads: fc.oneof(
              fc.array(fc.nat(6), { minLength: 12, maxLength: 12 }),
              fc.array(fc.constantFrom(0, 1, 9, 9, 9, 9, 9), { minLength: 12, maxLength: 12 }),
            ),
            tried: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
            down: fc.nat(24),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (weights, steps) => {
          const pool = makePool(weights.length, weights);
          const selector = track(pool, create(testEnv(), { hotKeyShare: 1 }));
          for (const step of steps) {
            const down = pool.backends[step.down];
            if (down) pool.setState(down.id, "unhealthy");
            pool.backends.forEach((backend, i) => {
              backend.inFlight = step.loads[i] as number;
              selector.loadChanged(backend);
            });
            const tried = pool.backends.filter((_, i) => step.tried[i]);
            const key = `k${step.key}`;
            expect(selector.pick(context(key), acceptUntried(tried), tried)?.id).toBe(
              expectedPick(pool.backends, key, tried),
            );
            if (down) pool.setState(down.id, "healthy");
          }
        },
      ),
      { numRuns: 300, seed: 17 },
    );
  });

  it("sends a key to the same backend on every request while load is light", () => {
    const pool = makePool(10);
    const selector = track(pool, create());
    const seen = drive(selector, keyStream(20_000, 2_000), 1);
    for (const ids of seen.values()) expect(ids.size).toBe(1);
    expect(selector.figures().boundedLoadRedirects).toBe(0);
  });

  it("keeps every backend at or under ceil((1 + ε) × average) under concurrent placement", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(0.1, 0.25, 0.5, 1),
        fc.array(fc.record({ open: fc.boolean(), key: fc.integer({ min: 0, max: 40 }), which: fc.nat() }), {
          minLength: 1,
          maxLength: 200,
        }),
        (n, epsilon, operations) => {
          const pool = makePool(n);
          const selector = track(pool, create(testEnv(), { epsilon, hotKeyShare: 0.05 }));
          const open: Backend[] = [];
          for (const { open: opening, key, which } of operations) {
            if (!opening && open.length > 0 && which % 3 === 0) {
              close(selector, open.splice(which % open.length, 1)[0] as Backend);
              continue;
            }
            // Skewed keys: a third of the requests share one hot key.
            open.push(place(selector, key % 3 === 0 ? "hot" : `k${key}`));
            const limit = Math.ceil((1 + epsilon) * (totalInFlight(pool.backends) / n) - 1e-9);
            for (const backend of pool.backends) expect(backend.inFlight).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 150, seed: 31 },
    );
  });

  it("redirects a loaded key to its next rendezvous backend and counts it", () => {
    const pool = makePool(4);
    const selector = track(pool, create(testEnv(), { hotKeyShare: 1 }));
    const home = selector.pick(context("k"), acceptReady) as Backend;
    const second = selector.pick(context("k"), acceptUntried([home]), [home]) as Backend;
    home.inFlight = 3;
    selector.loadChanged(home);
    // 3 in flight over 4 backends: bound ceil(1.25 × 4 / 4) = 2, the home is full.
    expect(selector.pick(context("k"), acceptReady)).toBe(second);
    expect(selector.figures().boundedLoadRedirects).toBe(1);
    expect(selector.describe(second)).toMatch(/bounded-load redirect/);
  });

  it("falls back to the least loaded backend when every untried one is at its bound", () => {
    const pool = makePool(3);
    const selector = track(pool, create());
    const [b0, b1, b2] = pool.backends as [Backend, Backend, Backend];
    // 40 in flight: bound ceil(1.25 × 41 / 3) = 18, both untried backends above it.
    b1.inFlight = 21;
    b2.inFlight = 19;
    for (const backend of pool.backends) selector.loadChanged(backend);
    expect(selector.pick(context("any"), acceptUntried([b0]), [b0])).toBe(b2);
    expect(selector.describe(b2)).toMatch(/least loaded/);
  });

  it("remaps only the removed backend's keys, about 1/N of them", () => {
    const pool = makePool(10);
    const selector = track(pool, create());
    const contexts = keyContexts({ create, context, exact: true }, 20_000);
    const before = assignment(selector, contexts);
    void pool.remove("b4");
    const after = assignment(selector, contexts);
    const moved = before.filter((id, i) => id !== after[i]);
    expect(moved.every((id) => id === "b4")).toBe(true);
    expect(moved.length / contexts.length).toBeCloseTo(0.1, 1);
  });

  it("warms an added backend up: its share of keys grows with time, taken only from others", () => {
    const env = manualEnv();
    const pool = makePool(9);
    const selector = track(pool, create(env, { warmupMs: 30_000, warmupMinShare: 0.1 }));
    const contexts = keyContexts({ create, context, exact: true }, 20_000);
    const before = assignment(selector, contexts);
    pool.add({ id: "new", address: "127.0.0.1:9999" });
    const shares: number[] = [];
    let previous = before;
    for (const time of [0, 10_000, 20_000, 30_000, 40_000]) {
      env.time = time;
      const now = assignment(selector, contexts);
      now.forEach((id, i) => {
        // Keys only move onto the new backend, and once there they stay.
        if (id !== before[i]) expect(id).toBe("new");
        if (previous[i] === "new") expect(id).toBe("new");
      });
      shares.push(now.filter((id) => id === "new").length / contexts.length);
      previous = now;
    }
    // Effective weights 0.1, 0.4, 0.7, 1, 1 against 9: shares w / (9 + w).
    [0.1, 0.4, 0.7, 1, 1].forEach((weight, i) => {
      expect(shares[i]).toBeCloseTo(weight / (9 + weight), 2);
    });
    env.time = 15_000;
    expect(selector.figures().warmingUp).toEqual([]);
  });

  it("reports warm-up progress per backend, and does not warm up the backends it started with", () => {
    const env = manualEnv();
    const pool = makePool(3);
    const selector = track(pool, create(env, { warmupMs: 1_000 }));
    expect(selector.figures().warmingUp).toEqual([]);
    env.time = 100;
    const added = pool.add({ id: "late", address: "127.0.0.1:9998" });
    env.time = 350;
    expect(selector.figures().warmingUp).toEqual([{ id: "late", progress: 0.25 }]);
    expect(selector.warmupProgress(added)).toBe(0.25);
    // A health flap rebuilds the selector but does not restart the ramp.
    pool.setState("late", "unhealthy");
    pool.setState("late", "healthy");
    env.time = 600;
    expect(selector.figures().warmingUp).toEqual([{ id: "late", progress: 0.5 }]);
    expect(selector.describe(added)).toMatch(/warming up, 50%/);
    env.time = 1_100;
    selector.pick(context("x"), acceptReady);
    expect(selector.figures().warmingUp).toEqual([]);
  });

  it("spreads a hot key over its top two rendezvous backends while cold keys stay pinned", () => {
    const pool = makePool(8);
    const selector = track(pool, create());
    const keys = keyStream(30_000, 2_000, 0.3);
    const seen = drive(selector, keys, 1);
    const hotIds = seen.get("hot") as Set<string>;
    expect([...hotIds].sort()).toEqual(rendezvousOrder(pool.backends, "hot").slice(0, 2).sort());
    for (const [key, ids] of seen) if (key !== "hot") expect(ids.size).toBe(1);
    const metrics = selector.figures();
    expect(metrics.hotKeys[0]?.key).toBe("hot");
    expect(metrics.hotKeys[0]?.share).toBeGreaterThan(0.25);
    expect(metrics.hotKeyRequests).toBeGreaterThan(0.29 * keys.length);
    // The two replicas share the hot key's requests evenly.
    const counts = [...hotIds].map((id) => metrics.distribution[id] as number);
    const others = Object.entries(metrics.distribution)
      .filter(([id]) => !hotIds.has(id))
      .map(([, count]) => count);
    for (const count of counts) expect(count).toBeGreaterThan(Math.max(...others));
  });

  it("splits a hot key's load between its replicas under concurrency", () => {
    const pool = makePool(8);
    const selector = track(pool, create(testEnv(), { epsilon: 1 }));
    const keys = keyStream(40_000, 5_000, 0.2, 9);
    const open: Backend[] = [];
    const hot = new Map<string, number>();
    for (const key of keys) {
      if (open.length >= 16) close(selector, open.shift() as Backend);
      const backend = place(selector, key);
      open.push(backend);
      if (key === "hot") hot.set(backend.id, (hot.get(backend.id) ?? 0) + 1);
    }
    const counts = [...hot.values()].sort((a, b) => b - a);
    const total = counts.reduce((a, b) => a + b, 0);
    // Mostly its two replicas, in about equal parts (bounded-load redirects take the rest).
    expect(((counts[0] as number) + (counts[1] as number)) / total).toBeGreaterThan(0.9);
    expect((counts[1] as number) / (counts[0] as number)).toBeGreaterThan(0.8);
  });

  it("has a cache hit rate above 0.9 for a stable uniform key set", () => {
    for (const concurrency of [1, 8]) {
      const pool = makePool(8);
      const selector = track(pool, create());
      drive(selector, keyStream(50_000, 1_000, 0, 5), concurrency);
      const metrics = selector.figures();
      expect(metrics.cacheHitRate).toBeGreaterThan(0.9);
      expect(metrics.cacheLookups).toBe(50_000);
      expect(metrics.cachedKeys).toBe(1_000);
      expect(metrics.hotKeyRequests).toBe(0);
      expect(metrics.hotKeys).toEqual([]);
    }
  });

  it("keeps the last-served table bounded", () => {
    const pool = makePool(4);
    const selector = track(pool, create(testEnv(), { trackedKeys: 500 }));
    drive(selector, keyStream(20_000, 10_000, 0, 6), 1);
    expect(selector.figures().cachedKeys).toBeLessThanOrEqual(500);
    expect(selector.figures().cachedKeys).toBeGreaterThan(400);
  });

  it("does not track keyless requests", () => {
    const pool = makePool(4);
    const selector = follow(pool, beta1.create(beta1Options.parse({}), testEnv()));
    for (let i = 0; i < 100; i++) selector.pick({}, acceptReady);
    const metrics = (selector as Beta1Selector).figures();
    expect(metrics.cacheLookups).toBe(0);
    expect(metrics.cachedKeys).toBe(0);
    expect(Object.values(metrics.distribution).reduce((a, b) => a + b, 0)).toBe(100);
  });

  it("parses its options, registers as beta1 / hrw-bounded and explains a pick", () => {
    expect(beta1Options.parse({})).toEqual({
      hashKey: { source: "client-ip" },
      hashFunction: "xxhash",
      epsilon: 0.25,
      warmupMs: 30_000,
      warmupMinShare: 0.1,
      hotKeyShare: 0.01,
      hotKeyReplicas: 2,
      trackedKeys: 10_000,
    });
    expect(beta1Options.safeParse({ epsilon: 0 }).success).toBe(false);
    expect(beta1Options.safeParse({ hotKeyReplicas: 0 }).success).toBe(false);
    expect(beta1Options.safeParse({ unknown: 1 }).success).toBe(false);
    const selector = createSelector({ name: "hrw-bounded", warmupMs: 0 }, testEnv());
    expect(selector.name).toBe("beta1");
    const pool = makePool(3);
    follow(pool, selector);
    const backend = selector.pick({ clientIp: "192.0.2.7" }, acceptReady) as Backend;
    expect(selector.describe(backend)).toMatch(
      /hash of client IP \(xxhash\), highest rendezvous score .*\(0 in flight, bound for the next request 1 at epsilon 0.25\)/,
    );
  });
});

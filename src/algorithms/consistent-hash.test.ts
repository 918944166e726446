import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { ConsistentHashSelector, consistentHash } from "./consistent-hash.js";
import { keyContexts, keyShares, runHashSelectorSuite, track } from "./hash-selector.case.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const headerKey = { source: "header", name: "x-key" } as const;
const create = () =>
  new ConsistentHashSelector({ hashKey: headerKey, hashFunction: "xxhash", virtualNodes: 150 });

runSelectorSuite("consistent-hash", { create, weighted: true });
runHashSelectorSuite("consistent-hash", {
  create,
  context: (key) => ({ headers: { "x-key": key } }),
  exact: true,
});

describe("consistent-hash", () => {
  it("defaults to the client IP as key, xxhash, 150 points per weight unit and 3 probes", () => {
    const options = consistentHash.options.parse({});
    expect(options).toEqual({
      hashKey: { source: "client-ip" },
      hashFunction: "xxhash",
      virtualNodes: 150,
      probes: 3,
    });
    const selector = follow(makePool(4), consistentHash.create(options, testEnv()));
    const a = selector.pick({ clientIp: "198.51.100.7" }, acceptReady);
    expect(selector.pick({ clientIp: "198.51.100.7" }, acceptReady)).toBe(a);
    expect(selector.describe(a as never)).toMatch(
      /hash of client IP \(xxhash\).*from 3 probes \(150 of 600 points\)/,
    );
  });

  it("takes `hashKey: path`, the consistent-hashing HTTP balancer's key: one backend per path, whoever asks", () => {
    const options = consistentHash.options.parse({ hashKey: "path" });
    expect(options.hashKey).toEqual({ source: "path" });
    expect(consistentHash.options.parse({ hashKey: "client-ip" }).hashKey).toEqual({ source: "client-ip" });
    expect(consistentHash.options.safeParse({ hashKey: "header" }).success).toBe(false);
    const selector = follow(makePool(8), consistentHash.create(options, testEnv()));
    const clients = ["198.51.100.1", "198.51.100.2", "203.0.113.9"];
    const owners = new Set<string | undefined>();
    for (let i = 0; i < 40; i++) {
      const path = `/objects/${i}`;
      const picks = clients.map((clientIp) => selector.pick({ clientIp, path }, acceptReady)?.id);
      expect(new Set(picks).size).toBe(1);
      owners.add(picks[0]);
    }
    expect(owners.size).toBeGreaterThan(4);
  });

  it("validates its options with field names in the errors", () => {
    const parse = (raw: unknown) => consistentHash.options.safeParse(raw);
    expect(parse({ hashFunction: "sha1" }).success).toBe(false);
    expect(parse({ virtualNodes: 0 }).success).toBe(false);
    expect(parse({ probes: 0 }).success).toBe(false);
    expect(parse({ probes: 33 }).success).toBe(false);
    expect(parse({ probes: 2.5 }).success).toBe(false);
    expect(parse({ probes: 1 }).success).toBe(true);
    expect(parse({ hashKey: { source: "cookie" } }).success).toBe(false);
    expect(parse({ extra: true }).success).toBe(false);
    expect(parse({ hashKey: { source: "query", name: "user" }, hashFunction: "md5" }).success).toBe(true);
    expect(parse({ hashKey: (ctx: { path?: string }) => ctx.path }).success).toBe(true);
    expect(consistentHash.aliases).toEqual(["ring", "ketama"]);
  });

  it("hashes a cookie, a query parameter, the path or a function's key", () => {
    const pool = makePool(16);
    const byCookie = follow(
      pool,
      consistentHash.create(
        consistentHash.options.parse({ hashKey: { source: "cookie", name: "sid" } }),
        testEnv(),
      ),
    );
    const byQuery = follow(
      pool,
      consistentHash.create(
        consistentHash.options.parse({ hashKey: { source: "query", name: "sid" } }),
        testEnv(),
      ),
    );
    const byPath = follow(
      pool,
      consistentHash.create(consistentHash.options.parse({ hashKey: { source: "path" } }), testEnv()),
    );
    const byFunction = follow(
      pool,
      new ConsistentHashSelector({
        hashKey: (ctx) => ctx.sessionId,
        hashFunction: "xxhash",
        virtualNodes: 150,
      }),
    );
    for (let i = 0; i < 50; i++) {
      const expected = byCookie.pick({ cookies: { sid: `s${i}` } }, acceptReady);
      expect(byQuery.pick({ path: `/x?a=1&sid=s${i}` }, acceptReady)).toBe(expected);
      expect(byPath.pick({ path: `s${i}?ignored=1` }, acceptReady)).toBe(expected);
      expect(byFunction.pick({ sessionId: `s${i}` }, acceptReady)).toBe(expected);
    }
  });

  it("falls back to the client IP when the key is missing, then rotates", () => {
    const pool = makePool(16);
    const byHeader = follow(pool, create());
    const byIp = follow(pool, consistentHash.create(consistentHash.options.parse({}), testEnv()));
    for (let i = 0; i < 50; i++) {
      const ip = `10.0.0.${i}`;
      const backend = byHeader.pick({ clientIp: ip, headers: {} }, acceptReady);
      expect(backend).toBe(byIp.pick({ clientIp: ip }, acceptReady));
    }
    expect(byHeader.describe(pool.backends[0] as never)).toMatch(/no header "x-key", hash of client IP/);
    const keyless = new Set(Array.from({ length: 200 }, () => byHeader.pick({}, acceptReady)?.id));
    expect(keyless.size).toBe(16);
    expect(byHeader.describe(pool.backends[0] as never)).toMatch(/no key, rotating position/);
  });

  it("spreads 200k keys over 100 backends with CV ≤ 5% (3 probes), ~1/sqrt(150) with probes: 1", () => {
    // One probe: each backend's share is the sum of 150 random arcs, CV ≈ 1/sqrt(150) = 8.2%;
    // three probes even it out (1M keys: see ring.test.ts).
    const contexts = keyContexts(
      { create, context: (key) => ({ headers: { "x-key": key } }), exact: true },
      200_000,
    );
    const cv = (probes: number) => {
      const selector = new ConsistentHashSelector({
        hashKey: headerKey,
        hashFunction: "xxhash",
        virtualNodes: 150,
        probes,
      });
      const shares = [...keyShares(makePool(100), selector, contexts).values()];
      const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
      return Math.sqrt(shares.reduce((sum, share) => sum + (share - mean) ** 2, 0) / shares.length) / mean;
    };
    expect(cv(3)).toBeLessThanOrEqual(0.05);
    expect(cv(1)).toBeGreaterThan(0.06);
  });

  it("keeps 1000 backends × 150 points under 3 MB and updates it in place", () => {
    const pool = makePool(1000);
    const selector = track(pool, create());
    expect(selector.ring.pointCount).toBe(150_000);
    expect(selector.ring.byteLength).toBeLessThanOrEqual(3 * 1024 * 1024);
    void pool.remove("b500");
    expect(selector.ring.pointCount).toBe(149_850);
    pool.setWeight("b1", 2);
    expect(selector.ring.pointCount).toBe(150_000);
  });
});

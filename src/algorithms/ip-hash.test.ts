import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { ConsistentHashSelector } from "./consistent-hash.js";
import { runHashSelectorSuite } from "./hash-selector.case.js";
import { IpHashSelector, ipHash } from "./ip-hash.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = () => new IpHashSelector({ hashFunction: "xxhash", virtualNodes: 150, probes: 3 });

runSelectorSuite("ip-hash", { create, weighted: true });
runHashSelectorSuite("ip-hash", { create, context: (key) => ({ clientIp: key }), exact: true });

describe("ip-hash", () => {
  it("routes by client IP on the consistent-hash ring", () => {
    const pool = makePool(12);
    const selector = follow(pool, create());
    const ring = follow(
      pool,
      new ConsistentHashSelector({
        hashKey: { source: "client-ip" },
        hashFunction: "xxhash",
        virtualNodes: 150,
      }),
    );
    for (let i = 0; i < 100; i++) {
      const ctx = { clientIp: `203.0.113.${i}`, headers: { "x-key": "ignored" } };
      expect(selector.pick(ctx, acceptReady)).toBe(ring.pick(ctx, acceptReady));
    }
    expect(selector.name).toBe("ip-hash");
    expect(selector.describe(pool.backends[0] as never)).toMatch(/hash of client IP/);
  });

  it("treats an IPv4-mapped IPv6 address as its IPv4 address", () => {
    const selector = follow(makePool(12), create());
    for (let i = 0; i < 50; i++) {
      expect(selector.pick({ clientIp: `::ffff:192.0.2.${i}` }, acceptReady)).toBe(
        selector.pick({ clientIp: `192.0.2.${i}` }, acceptReady),
      );
    }
  });

  it("rotates requests without a client IP instead of piling them on one backend", () => {
    const selector = follow(makePool(6), create());
    const ids = new Set(Array.from({ length: 60 }, () => selector.pick({}, acceptReady)?.id));
    expect(ids.size).toBe(6);
    expect(selector.describe(makePool(1).backends[0] as never)).toMatch(/no key, rotating position/);
  });

  it("takes a hash function, point count and probes, but no key option", () => {
    expect(ipHash.options.parse({})).toEqual({ hashFunction: "xxhash", virtualNodes: 150, probes: 3 });
    expect(ipHash.options.parse({ hashFunction: "crc32" }).hashFunction).toBe("crc32");
    expect(ipHash.options.safeParse({ hashKey: { source: "path" } }).success).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { keyContexts, keyShares, runHashSelectorSuite, track } from "./hash-selector.case.js";
import { MaglevSelector, maglev } from "./maglev.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const suite = {
  create: () =>
    new MaglevSelector({
      hashKey: { source: "header", name: "x-key" },
      hashFunction: "xxhash",
      tableSize: 65537,
    }),
  context: (key: string) => ({ headers: { "x-key": key } }),
  exact: false,
};

runSelectorSuite("maglev", { create: suite.create, weighted: true });
runHashSelectorSuite("maglev", suite);

describe("maglev", () => {
  it("defaults to the client IP, xxhash and a 65537-entry table", () => {
    const options = maglev.options.parse({});
    expect(options).toEqual({ hashKey: { source: "client-ip" }, hashFunction: "xxhash", tableSize: 65537 });
    const pool = makePool(3);
    const selector = follow(pool, maglev.create(options, testEnv()));
    const backend = selector.pick({ clientIp: "192.0.2.1" }, acceptReady);
    expect(selector.pick({ clientIp: "192.0.2.1" }, acceptReady)).toBe(backend);
    expect(selector.describe(backend as never)).toMatch(
      /hash of client IP \(xxhash\), Maglev table entry \(2184\d of 65537/,
    );
  });

  it("requires a prime table size", () => {
    const result = maglev.options.safeParse({ tableSize: 65536 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/prime/);
    expect(maglev.options.parse({ tableSize: 655373 }).tableSize).toBe(655373);
  });

  it("spreads 200k keys over 100 backends with CV ≤ 5%", () => {
    const shares = [...keyShares(makePool(100), suite.create(), keyContexts(suite, 200_000)).values()];
    const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
    const cv = Math.sqrt(shares.reduce((sum, share) => sum + (share - mean) ** 2, 0) / shares.length) / mean;
    expect(cv).toBeLessThanOrEqual(0.05);
  });

  it("does not rebuild its table on health changes", () => {
    const pool = makePool(5);
    const selector = track(pool, suite.create());
    const table = selector.table;
    const before = table.entriesOf(pool.backends[2] as never);
    pool.setState("b2", "unhealthy");
    expect(table.sync(pool.backends)).toBe(false);
    expect(table.entriesOf(pool.backends[2] as never)).toBe(before);
  });
});

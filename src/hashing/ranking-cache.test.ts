import { describe, expect, it } from "vitest";
import { RankingCache } from "./ranking-cache.js";

describe("ranking cache", () => {
  const ranked = (members: number[]) => ({
    count: members.length,
    at: (rank: number) => members[rank] ?? -1,
  });

  it("returns a stored ranking until invalidated", () => {
    const cache = new RankingCache(16, 3);
    expect(cache.find(7)).toBe(-1);
    const entry = cache.store(7, ranked([4, 2, 9, 1]));
    expect(cache.find(7)).toBe(entry);
    expect(cache.countOf(entry)).toBe(3);
    expect([0, 1, 2].map((rank) => cache.memberOf(entry, rank))).toEqual([4, 2, 9]);
    cache.invalidate();
    expect(cache.find(7)).toBe(-1);
  });

  it("keeps at most its capacity of keys, the most recent ones", () => {
    const cache = new RankingCache(32, 2);
    for (let key = 0; key < 1_000; key++) cache.store(key * 31, ranked([key % 5, 1]));
    let found = 0;
    for (let key = 0; key < 1_000; key++) if (cache.find(key * 31) >= 0) found++;
    expect(found).toBeLessThanOrEqual(32);
    expect(cache.find(999 * 31)).toBeGreaterThanOrEqual(0);
  });
});

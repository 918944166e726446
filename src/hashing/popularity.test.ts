import { describe, expect, it } from "vitest";
import { seededRandom } from "../core/random.js";
import { mixSigned, signedHashFunctions } from "./hash-functions.js";
import { MIN_HOT_COUNT, PopularityTracker } from "./popularity.js";

const keyHash = (key: string) => mixSigned(signedHashFunctions.xxhash(key));

function tracker(hotShare = 0.01) {
  return new PopularityTracker<string>({ hotShare, label: (key) => key });
}

describe("popularity tracker", () => {
  it("finds a key above its share of traffic and no cold key of a uniform crowd", () => {
    const popularity = tracker();
    const random = seededRandom(11);
    const hot = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const key = random() < 0.05 ? "hot" : `k${Math.floor(random() * 5_000)}`;
      if (popularity.record(keyHash(key), key)) hot.add(key);
    }
    expect([...hot]).toEqual(["hot"]);
    expect(popularity.isHot(keyHash("hot"))).toBe(true);
    expect(popularity.isHot(keyHash("k1"))).toBe(false);
    const [top] = popularity.top(10);
    expect(top?.key).toBe("hot");
    expect(top?.share).toBeCloseTo(0.05, 1);
    expect(popularity.top(10, true).map((entry) => entry.key)).toEqual(["hot"]);
    expect(popularity.top(10).length).toBeGreaterThan(1);
  });

  it("ranks several heavy keys of a Zipf head in order", () => {
    const popularity = tracker();
    const random = seededRandom(5);
    // Shares 20%, 10%, 5%, then a uniform tail.
    for (let i = 0; i < 60_000; i++) {
      const r = random();
      const key = r < 0.2 ? "a" : r < 0.3 ? "b" : r < 0.35 ? "c" : `t${Math.floor(random() * 20_000)}`;
      popularity.record(keyHash(key), key);
    }
    expect(
      popularity
        .top(3)
        .map((entry) => entry.key)
        .slice(0, 3),
    ).toEqual(["a", "b", "c"]);
    expect(popularity.top(10).length).toBeLessThanOrEqual(10);
  });

  it("needs a minimum count, so the first requests do not make a key hot", () => {
    const popularity = tracker(0.5);
    for (let i = 1; i < MIN_HOT_COUNT; i++) expect(popularity.record(keyHash("only"), "only")).toBe(false);
    expect(popularity.record(keyHash("only"), "only")).toBe(true);
  });

  it("forgets a key that cooled down, halving every window", () => {
    const popularity = tracker();
    for (let i = 0; i < 2_000; i++) popularity.record(keyHash("burst"), "burst");
    expect(popularity.isHot(keyHash("burst"))).toBe(true);
    for (let i = 0; i < popularity.window * 6; i++) popularity.record(keyHash(`c${i % 50_000}`), "cold");
    expect(popularity.isHot(keyHash("burst"))).toBe(false);
    expect(popularity.total).toBeLessThan(popularity.window * 2);
    expect(popularity.estimate(keyHash("burst"))).toBeLessThan(2_000 / 32);
  });

  it("shows a key's hash when no label is available", () => {
    const popularity = new PopularityTracker<undefined>({ hotShare: 0.01, label: () => undefined });
    for (let i = 0; i < 40; i++) popularity.record(0x1234, undefined);
    expect(popularity.top(1)).toEqual([{ key: "#1234", share: 1 }]);
  });
});

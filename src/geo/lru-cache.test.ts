import { describe, expect, it } from "vitest";
import { LruCache } from "./lru-cache.js";

describe("LruCache", () => {
  it("never holds more than its capacity, evicting the least recently used", () => {
    const cache = new LruCache<string, number>(3);
    for (let i = 0; i < 1000; i++) {
      cache.set(`k${i}`, i);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
    expect([cache.has("k997"), cache.has("k998"), cache.has("k999"), cache.has("k996")]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it("counts a hit as a use, so the entry survives the next eviction", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.has("a")).toBe(true);
    expect(cache.has("b")).toBe(false);
    expect(cache.get("b")).toBeUndefined();
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 1 });
  });

  it("replaces a value without growing, and capacity 0 stores nothing", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("a", 2);
    expect(cache.size).toBe(1);
    expect(cache.get("a")).toBe(2);
    const off = new LruCache<string, number>(0);
    off.set("a", 1);
    expect(off.size).toBe(0);
    expect(off.get("a")).toBeUndefined();
    expect(() => new LruCache(-1)).toThrow(RangeError);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

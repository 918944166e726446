import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./token-buckets.js";

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Takes from `key` until refused, at most `limit` times; the number admitted. */
function drain(buckets: TokenBuckets, key: string, limit = 1_000): number {
  let admitted = 0;
  while (admitted < limit && buckets.take(key)) admitted++;
  return admitted;
}

describe("TokenBuckets", () => {
  it("admits a full burst at once, then refuses", () => {
    const buckets = new TokenBuckets({ rate: 10, periodMs: 1_000, burst: 5, maxKeys: 10 }, clock().now);
    expect(drain(buckets, "a")).toBe(5);
    expect(buckets.take("a")).toBe(false);
    expect(buckets.remaining).toBe(0);
  });

  it("refills lazily at rate per period, never above the burst", () => {
    const time = clock();
    const buckets = new TokenBuckets({ rate: 10, periodMs: 1_000, burst: 5, maxKeys: 10 }, time.now);
    drain(buckets, "a");
    time.advance(250); // 2.5 tokens
    expect(drain(buckets, "a")).toBe(2);
    time.advance(60_000);
    expect(drain(buckets, "a")).toBe(5);
  });

  it("says how long until the next token and until the bucket is full", () => {
    const time = clock();
    const buckets = new TokenBuckets({ rate: 2, periodMs: 1_000, burst: 4, maxKeys: 10 }, time.now);
    drain(buckets, "a");
    expect(buckets.nextTokenMs).toBeCloseTo(500);
    expect(buckets.fullInMs).toBeCloseTo(2_000);
    time.advance(100);
    expect(buckets.take("a")).toBe(false);
    expect(buckets.nextTokenMs).toBeCloseTo(400);
    time.advance(400);
    expect(buckets.take("a")).toBe(true);
    expect(buckets.nextTokenMs).toBeCloseTo(500);
  });

  it("reports the whole tokens left after an admitted request", () => {
    const buckets = new TokenBuckets({ rate: 1, periodMs: 1_000, burst: 3, maxKeys: 10 }, clock().now);
    expect(buckets.take("a")).toBe(true);
    expect(buckets.remaining).toBe(2);
    expect(buckets.nextTokenMs).toBe(0);
  });

  it("keeps a bucket per key", () => {
    const buckets = new TokenBuckets({ rate: 1, periodMs: 1_000, burst: 2, maxKeys: 10 }, clock().now);
    expect(drain(buckets, "a")).toBe(2);
    expect(drain(buckets, "b")).toBe(2);
    expect(buckets.size).toBe(2);
  });

  it("holds at most maxKeys buckets, dropping the least recently used", () => {
    const buckets = new TokenBuckets({ rate: 1, periodMs: 60_000, burst: 2, maxKeys: 3 }, clock().now);
    for (const key of ["a", "b", "c"]) drain(buckets, key);
    expect(buckets.take("a")).toBe(false); // a is now the most recently used
    buckets.take("d"); // evicts b
    expect(buckets.size).toBe(3);
    expect(buckets.take("a")).toBe(false);
    expect(buckets.take("c")).toBe(false);
    // b was forgotten: it starts again with a full burst, one burst more than its rate allowed.
    expect(drain(buckets, "b")).toBe(2);
  });

  it("keeps the table bounded under many keys", () => {
    const buckets = new TokenBuckets({ rate: 1, periodMs: 1_000, burst: 1, maxKeys: 100 }, clock().now);
    for (let i = 0; i < 10_000; i++) buckets.take(`client-${i}`);
    expect(buckets.size).toBe(100);
  });
});

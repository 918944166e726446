import { describe, expect, it } from "vitest";
import { isSwitchyardError } from "../../core/errors.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limiter.js";

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Requests admitted for one client until the first refusal, at most `limit`. */
function drain(
  limiter: RateLimiter,
  clientIp: string,
  headers: Record<string, string> = {},
  route = "r",
  limit = 1_000,
): number {
  let admitted = 0;
  while (admitted < limit && limiter.admit(clientIp, headers, route)) admitted++;
  return admitted;
}

describe("RateLimiter", () => {
  it("keys by client address by default", () => {
    const limiter = new RateLimiter({ rate: 2 }, "api", clock().now);
    expect(drain(limiter, "192.0.2.1")).toBe(2);
    expect(drain(limiter, "192.0.2.2")).toBe(2);
  });

  it("answers a refusal with Retry-After and the draft's RateLimit fields", () => {
    const time = clock();
    const limiter = new RateLimiter({ rate: 1, periodMs: 10_000, burst: 3 }, "api", time.now);
    drain(limiter, "192.0.2.1");
    time.advance(2_500);
    expect(limiter.admit("192.0.2.1", {}, "r")).toBe(false);
    // 0.25 of a token is back: 7.5 s until one, 27.5 s until all three.
    expect(limiter.refusalHeaders()).toEqual([
      "retry-after",
      "8",
      "ratelimit-policy",
      '"api";q=1;w=10',
      "ratelimit",
      '"api";r=0;t=28',
    ]);
  });

  it("says at least one second in Retry-After", () => {
    const limiter = new RateLimiter({ rate: 1_000, burst: 1 }, "api", clock().now);
    drain(limiter, "192.0.2.1");
    expect(limiter.refusalHeaders().slice(0, 2)).toEqual(["retry-after", "1"]);
  });

  it("gives the quota left after an admitted request", () => {
    const limiter = new RateLimiter({ rate: 5, headers: true }, "api", clock().now);
    expect(limiter.headers).toBe(true);
    limiter.admit("192.0.2.1", {}, "r");
    expect(limiter.quotaHeaders()).toEqual([
      "ratelimit-policy",
      '"api";q=5;w=1',
      "ratelimit",
      '"api";r=4;t=1',
    ]);
  });

  it("keys by a header's value, and by client address without it", () => {
    const limiter = new RateLimiter({ rate: 1, key: { header: "X-Api-Key" } }, "api", clock().now);
    expect(drain(limiter, "192.0.2.1", { "x-api-key": "alpha" })).toBe(1);
    expect(drain(limiter, "192.0.2.1", { "x-api-key": "beta" })).toBe(1);
    expect(drain(limiter, "192.0.2.1")).toBe(1);
    expect(drain(limiter, "192.0.2.2")).toBe(1);
    // A header naming an address does not reach that address's bucket.
    expect(drain(limiter, "192.0.2.3", { "x-api-key": "192.0.2.1" })).toBe(1);
  });

  it("keys long header values by their digest", () => {
    const limiter = new RateLimiter({ rate: 1, key: { header: "authorization" } }, "api", clock().now);
    const token = "x".repeat(4_000);
    expect(drain(limiter, "192.0.2.1", { authorization: `${token}a` })).toBe(1);
    expect(drain(limiter, "192.0.2.1", { authorization: `${token}b` })).toBe(1);
    expect(drain(limiter, "192.0.2.2", { authorization: `${token}a` })).toBe(0);
  });

  it("keys by route: one bucket for every client of a route", () => {
    const limiter = new RateLimiter({ rate: 2, key: "route" }, "listener", clock().now);
    expect(limiter.admit("192.0.2.1", {}, "a")).toBe(true);
    expect(limiter.admit("192.0.2.2", {}, "a")).toBe(true);
    expect(limiter.admit("192.0.2.3", {}, "a")).toBe(false);
    expect(limiter.admit("192.0.2.3", {}, "b")).toBe(true);
  });

  it("counts the forwarded client behind a trusted proxy, and only there", () => {
    const limiter = new RateLimiter({ rate: 1, trustedProxies: ["10.0.0.0/8"] }, "api", clock().now);
    const forwarded = (client: string) => ({ "x-forwarded-for": `${client}, 10.0.0.9` });
    expect(drain(limiter, "10.0.0.1", forwarded("192.0.2.1"))).toBe(1);
    expect(drain(limiter, "10.0.0.1", forwarded("192.0.2.2"))).toBe(1);
    expect(drain(limiter, "10.0.0.2", forwarded("::ffff:192.0.2.2"))).toBe(0);
    // An untrusted peer's X-Forwarded-For is its own claim: it is counted as itself.
    expect(drain(limiter, "198.51.100.7", forwarded("192.0.2.3"))).toBe(1);
    expect(drain(limiter, "198.51.100.7", forwarded("192.0.2.4"))).toBe(0);
  });

  it.each<[string, RateLimitOptions]>([
    ["rate", { rate: 0 }],
    ["rate", { rate: 1.5 }],
    ["periodMs", { rate: 1, periodMs: 1_500 }],
    ["burst", { rate: 1, burst: 0 }],
    ["maxKeys", { rate: 1, maxKeys: 0 }],
    ["key.header", { rate: 1, key: { header: "bad header" } }],
    ["trustedProxies", { rate: 1, trustedProxies: ["10.0.0.0/99"] }],
  ])("refuses a bad %s", (field, options) => {
    let thrown: unknown;
    try {
      new RateLimiter(options, "api");
    } catch (error) {
      thrown = error;
    }
    expect(isSwitchyardError(thrown, "SY_ERR_INVALID_OPTIONS")).toBe(true);
    expect((thrown as Error).message).toContain(`rateLimit.${field}`);
  });
});

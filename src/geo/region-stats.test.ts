/**
 * Per-region latency through a real balancer: `createBalancer` with the
 * geographical algorithm, the client's region from the trusted
 * `X-Client-Region` header, attempts finished with their latency as the
 * proxy does, and `balancer.regionStats()` read back.
 */
import { describe, expect, it } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import { HEDGE_CANCELLED } from "../core/outcome.js";
import type { RegionCounters } from "./region-stats.js";

const TRUSTED = ["127.0.0.1"];

function fleet() {
  let now = 0;
  const balancer = createBalancer({
    backends: [
      { id: "dub-0", address: "127.0.0.1:21000", region: "eu-west", latitude: 53.35, longitude: -6.26 },
      { id: "dub-1", address: "127.0.0.1:21001", region: "eu-west", latitude: 53.35, longitude: -6.26 },
      { id: "fra-0", address: "127.0.0.1:21002", region: "eu-central", latitude: 50.11, longitude: 8.68 },
      { id: "iad-0", address: "127.0.0.1:21003", region: "us-east", latitude: 39.04, longitude: -77.49 },
    ],
    algorithm: { name: "geographical", geo: { trustedProxies: TRUSTED, database: false } },
    healthCheck: undefined,
    now: () => now,
  });
  return {
    balancer,
    advance(ms: number) {
      now += ms;
    },
    regions: () => balancer.regionStats() as Record<string, RegionCounters>,
    /** One request from a client in `region`, answered in `latencyMs`. */
    send(region: string, latencyMs: number, status = 200) {
      const decision = balancer.select({ clientIp: "127.0.0.1", headers: { "x-client-region": region } });
      decision.finish({ status, latencyMs });
      return decision.backend;
    },
  };
}

/** Within the histogram's ±1.6% of `expected`. */
function near(actual: number | undefined, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected * 0.98);
  expect(actual).toBeLessThanOrEqual(expected * 1.02);
}

describe("per-region latency", () => {
  it("keeps a latency histogram per region next to requests and failovers", () => {
    const { send, regions } = fleet();
    for (let ms = 1; ms <= 100; ms++) expect(send("eu-west", ms).region).toBe("eu-west");
    for (let i = 0; i < 10; i++) send("us-east", 200 + i * 0.25);
    const stats = regions();
    expect(stats["eu-west"]).toMatchObject({ requests: 100, failovers: 0 });
    const west = stats["eu-west"]?.latencyMs;
    expect(west).toMatchObject({ count: 100, recentCount: 100, max: 100 });
    near(west?.p50, 50);
    near(west?.p95, 95);
    near(west?.p99, 99);
    near(west?.mean, 50.5);
    const east = stats["us-east"]?.latencyMs;
    expect(east?.count).toBe(10);
    near(east?.p50, 201);
    expect(stats["eu-central"]).toBeUndefined();
    // Reaches the admin API as JSON.
    expect(JSON.parse(JSON.stringify(stats))["eu-west"].latencyMs.count).toBe(100);
  });

  it("keeps sub-millisecond precision", () => {
    const { send, regions } = fleet();
    for (let i = 0; i < 50; i++) send("eu-west", 0.25);
    near(regions()["eu-west"]?.latencyMs?.p50, 0.25);
  });

  it("counts only successful attempts: not transport errors, 5xx or cancelled hedges", () => {
    const { balancer, send, regions } = fleet();
    send("eu-west", 10);
    send("eu-west", 900, 503);
    const ctx = { clientIp: "127.0.0.1", headers: { "x-client-region": "eu-west" } };
    balancer.select(ctx).finish({ error: "ECONNRESET", latencyMs: 700 });
    const first = balancer.select(ctx);
    const hedge = first.hedge();
    expect(hedge?.backend.region).toBe("eu-west");
    hedge?.finish({ status: 200, latencyMs: 20 });
    first.finish({ error: HEDGE_CANCELLED, latencyMs: 800 });
    balancer.select(ctx).finish({ status: 200 });
    const west = regions()["eu-west"];
    expect(west?.requests).toBe(6);
    expect(west?.latencyMs).toMatchObject({ count: 2, max: 20 });
  });

  it("charges latency to the region that served a failed-over request", () => {
    const { balancer, send, regions } = fleet();
    balancer.pool.setState("dub-0", "unhealthy");
    balancer.pool.setState("dub-1", "unhealthy");
    for (let i = 0; i < 5; i++) expect(send("eu-west", 30).region).toBe("eu-central");
    const stats = regions();
    expect(stats["eu-west"]).toEqual({ requests: 0, failovers: 5 });
    expect(stats["eu-central"]).toMatchObject({ requests: 5, failovers: 0, latencyMs: { count: 5 } });
    near(stats["eu-central"]?.latencyMs?.p50, 30);
  });

  it("reads quantiles over the last 10–20 s and totals over the lifetime", () => {
    const { send, regions, advance } = fleet();
    for (let i = 0; i < 20; i++) send("eu-west", 100);
    advance(10_000);
    for (let i = 0; i < 20; i++) send("eu-west", 10);
    expect(regions()["eu-west"]?.latencyMs).toMatchObject({ count: 40, recentCount: 40, max: 100 });
    advance(10_000);
    const later = regions()["eu-west"]?.latencyMs;
    expect(later).toMatchObject({ count: 40, recentCount: 20, max: 100 });
    near(later?.p99, 10);
    advance(30_000);
    expect(regions()["eu-west"]?.latencyMs).toMatchObject({ count: 40, recentCount: 0, p50: 0 });
  });
});

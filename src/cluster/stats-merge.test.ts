import { describe, expect, it } from "vitest";
import { mergeWorkerStats } from "./stats-merge.js";

const worker = (requests: number, p99: number, weight: number, ewma: number) => ({
  pools: {
    main: {
      algorithm: "round-robin",
      requests,
      failovers: requests / 10,
      failoverMsTotal: requests,
      meanFailoverMs: 10,
      healthyBackends: 1,
      unhealthyBackends: 0,
      latencyMs: { count: requests, sum: requests * 2, mean: 2, p99, max: p99 },
      loadCv: { requests: requests / 100, inFlight: 0 },
      backends: [
        { id: "a", state: "healthy", weight, effectiveWeight: weight, requests, ewmaLatencyMs: ewma },
      ],
    },
  },
});

describe("mergeWorkerStats", () => {
  it("adds counters, keeps the highest quantile, recomputes means and merges backends by id", () => {
    const merged = mergeWorkerStats([worker(10, 30, 2, 4), worker(30, 10, 2, 8)]) as ReturnType<
      typeof worker
    >;
    const pool = merged.pools.main;
    expect(pool.algorithm).toBe("round-robin");
    expect(pool.requests).toBe(40);
    expect(pool.latencyMs).toEqual({ count: 40, sum: 80, mean: 2, p99: 30, max: 30 });
    expect(pool.loadCv.requests).toBeCloseTo(0.2);
    expect(pool).toMatchObject({
      failovers: 4,
      failoverMsTotal: 40,
      meanFailoverMs: 10,
      healthyBackends: 1,
      unhealthyBackends: 0,
    });
    expect(pool.backends).toEqual([
      { id: "a", state: "healthy", weight: 2, effectiveWeight: 2, requests: 40, ewmaLatencyMs: 6 },
    ]);
  });

  it("keeps a backend only one worker knows about", () => {
    const one = worker(1, 1, 1, 1);
    const two = worker(1, 1, 1, 1);
    two.pools.main.backends.push({
      id: "b",
      state: "healthy",
      weight: 1,
      effectiveWeight: 1,
      requests: 5,
      ewmaLatencyMs: 1,
    });
    const merged = mergeWorkerStats([one, two]) as ReturnType<typeof worker>;
    expect(merged.pools.main.backends.map((backend) => [backend.id, backend.requests])).toEqual([
      ["a", 2],
      ["b", 5],
    ]);
  });

  it("shows the first worker's algorithm metrics, lists included, instead of adding ratios up", () => {
    const metrics = (beta: number, progress: number) => ({
      pools: {
        main: {
          requests: 1,
          algorithmMetrics: { beta, cacheHitRate: 0.5, warmingUp: [{ id: "a", progress }] },
        },
      },
    });
    const merged = mergeWorkerStats([metrics(0.2, 0.4), metrics(0.3, 0.6)]) as ReturnType<typeof metrics>;
    expect(merged.pools.main.requests).toBe(2);
    expect(merged.pools.main.algorithmMetrics).toEqual({
      beta: 0.2,
      cacheHitRate: 0.5,
      warmingUp: [{ id: "a", progress: 0.4 }],
    });
  });

  it("shows the first worker's discovery state whole, its backends and times not added up", () => {
    const discovery = (refreshes: number, lastSuccessAt: number) => ({
      pools: {
        main: {
          requests: 1,
          discovery: { source: "dns", target: "orders.internal", refreshes, lastSuccessAt, backends: 3 },
        },
      },
    });
    const merged = mergeWorkerStats([discovery(4, 1_000), discovery(5, 2_000)]) as ReturnType<
      typeof discovery
    >;
    expect(merged.pools.main).toEqual({
      requests: 2,
      discovery: {
        source: "dns",
        target: "orders.internal",
        refreshes: 4,
        lastSuccessAt: 1_000,
        backends: 3,
      },
    });
  });

  it("merges the TCP balancer's /api/performance: counts add up, the success rate is recomputed", () => {
    const performance = (total: number, failed: number, avg: number) => ({
      total_requests: total,
      successful_requests: total - failed,
      failed_requests: failed,
      active_connections: 1,
      success_rate: ((total - failed) / total) * 100,
      requests_per_minute: total,
      avg_response_time: avg,
      servers: [
        {
          pool: "main",
          id: "a",
          healthy: true,
          total_requests: total,
          failed_requests: failed,
          avg_response_time: avg,
        },
      ],
    });
    const merged = mergeWorkerStats([performance(100, 0, 2), performance(100, 50, 4)]);
    expect(merged).toEqual({
      total_requests: 200,
      successful_requests: 150,
      failed_requests: 50,
      active_connections: 2,
      success_rate: 75,
      requests_per_minute: 200,
      avg_response_time: 3,
      servers: [
        {
          pool: "main",
          id: "a",
          healthy: true,
          total_requests: 200,
          failed_requests: 50,
          avg_response_time: 3,
        },
      ],
    });
  });

  it("merges a listener's routes by name", () => {
    const listener = (requests: number, rateLimited: number) => ({
      listeners: { web: { routes: [{ name: "api", pool: "main", requests, rateLimited }] } },
    });
    const merged = mergeWorkerStats([listener(3, 1), listener(4, 2)]);
    expect(merged).toEqual({
      listeners: { web: { routes: [{ name: "api", pool: "main", requests: 7, rateLimited: 3 }] } },
    });
  });
});

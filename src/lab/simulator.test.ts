import { describe, expect, it } from "vitest";
import { runScenario } from "./compare.js";
import type { SimulationResult } from "./run-results.js";
import { arrivalRateRps, getScenario, listScenarios, type ScenarioDefinition } from "./scenarios.js";

function withoutWallTime(result: SimulationResult): Omit<SimulationResult, "wallMs"> {
  const { wallMs: _wallMs, ...rest } = result;
  return rest;
}

function served(result: SimulationResult): number {
  return result.backends.reduce((total, backend) => total + backend.served, 0);
}

describe("simulator", () => {
  it("is deterministic: same seed, identical results", () => {
    for (const [scenario, algorithm] of [
      ["failure", "p2c"],
      ["hot-keys", "peak-ewma"],
      ["scale-out", "least-connections"],
      ["slowdown", "prequal"],
    ] as const) {
      const a = runScenario(scenario, algorithm, { requests: 20_000, seed: 7, recordRouting: true });
      const b = runScenario(scenario, algorithm, { requests: 20_000, seed: 7, recordRouting: true });
      expect(withoutWallTime(b)).toEqual(withoutWallTime(a));
    }
  });

  it("a different seed gives a different workload", () => {
    const a = runScenario("uniform", "round-robin", { requests: 10_000, seed: 1 });
    const b = runScenario("uniform", "round-robin", { requests: 10_000, seed: 2 });
    expect(b.latency).not.toEqual(a.latency);
  });

  it("accounts for every request in every scenario: served + client errors = requests", () => {
    for (const scenario of listScenarios()) {
      const result = runScenario(scenario.name, "p2c", { requests: 10_000, seed: 3 });
      expect(served(result) + result.errors).toBe(10_000);
      expect(result.timeline.arrivals.reduce((a, b) => a + b, 0)).toBe(10_000);
      expect(result.hedgedPct).toBe(0);
    }
  });

  it("arrivals follow the scenario's Poisson rate", () => {
    const result = runScenario("uniform", "round-robin", { requests: 100_000, seed: 5, timelineBuckets: 20 });
    const rate = arrivalRateRps(getScenario("uniform"));
    expect(result.arrivalRateRps).toBeCloseTo(rate, 2);
    // All buckets but the last (which also takes the stragglers) hold rate × bucket length on average.
    const full = result.timeline.arrivals.slice(0, -1);
    const mean = full.reduce((a, b) => a + b, 0) / full.length;
    expect(mean / ((rate * result.timeline.bucketMs) / 1000)).toBeCloseTo(1, 1);
  });

  it("runs 200k requests (kept as a smoke test of speed; no time asserted)", () => {
    const result = runScenario("uniform", "round-robin", { requests: 200_000, seed: 1 });
    expect(served(result)).toBe(200_000);
    expect(result.latency.p50).toBeGreaterThan(5);
    expect(result.latency.p50).toBeLessThan(15);
    expect(result.load.maxMeanRatio).toBe(1);
  });

  it("runs a custom scenario definition and validates it", () => {
    const tiny: ScenarioDefinition = {
      name: "tiny",
      summary: "two backends",
      backends: [
        { id: "x", capacity: 1, service: { kind: "exponential", meanMs: 1 } },
        { id: "y", capacity: 1, service: { kind: "exponential", meanMs: 1 } },
      ],
      utilization: 0.5,
      keys: { count: 10 },
      defaultRequests: 1000,
    };
    const result = runScenario(tiny, "round-robin");
    expect(result.requests).toBe(1000);
    expect(result.backends.map((b) => b.routed)).toEqual([500, 500]);
    expect(() => runScenario({ ...tiny, backends: [] }, "round-robin")).toThrow(/backends/);
    expect(() =>
      runScenario(
        { ...tiny, episodes: [{ kind: "failure", backend: "z", from: 0.1, to: 0.2 }] },
        "round-robin",
      ),
    ).toThrow(/episodes\[0\]\.backend/);
  });

  it("fails a request for the client only when every candidate failed", () => {
    // Both backends down for the middle of the run: requests then have nowhere to go.
    const allDown: ScenarioDefinition = {
      name: "all-down",
      summary: "both backends fail together",
      backends: [
        { id: "x", capacity: 4, service: { kind: "exponential", meanMs: 2 } },
        { id: "y", capacity: 4, service: { kind: "exponential", meanMs: 2 } },
      ],
      utilization: 0.5,
      keys: { count: 10 },
      episodes: [
        { kind: "failure", backend: "x", from: 0.4, to: 0.6 },
        { kind: "failure", backend: "y", from: 0.4, to: 0.6 },
      ],
      defaultRequests: 20_000,
    };
    const result = runScenario(allDown, "round-robin");
    expect(result.errors).toBeGreaterThan(0);
    expect(result.noBackend).toBeGreaterThan(0);
    expect(served(result) + result.errors).toBe(20_000);
    // Before the episode and after recovery nothing fails.
    const buckets = result.timeline.errors;
    expect(buckets.slice(0, 15).every((count) => count === 0)).toBe(true);
    expect(buckets.slice(-10).every((count) => count === 0)).toBe(true);
  });
});

/**
 * ALPHA1 in the simulator: routing beats round-robin on a slow backend, and
 * hedging (simulated through `decision.hedge()` and cancellation) cuts the
 * tail where the tail comes from the backends, within its 5% budget, and
 * stays out of the way where it cannot help. Fixed seeds, small runs.
 */
import { describe, expect, it } from "vitest";
import { runScenario } from "./compare.js";
import type { SimulationResult } from "./run-results.js";
import { getScenario, listScenarios } from "./scenarios.js";
import { Simulation } from "./simulator.js";

const noHedge = { name: "alpha1", hedge: { enabled: false } };

function served(result: SimulationResult): number {
  return result.backends.reduce((total, backend) => total + backend.served, 0);
}

function withoutWallTime(result: SimulationResult): Omit<SimulationResult, "wallMs"> {
  const { wallMs: _wallMs, ...rest } = result;
  return rest;
}

describe("alpha1 in the simulator", () => {
  for (const seed of [1, 2]) {
    it(`heterogeneous: p99 at least 2x lower than round-robin, slow backend mostly avoided (seed ${seed})`, () => {
      const rr = runScenario("heterogeneous", "round-robin", { requests: 30_000, seed });
      const result = runScenario("heterogeneous", "alpha1", { requests: 30_000, seed });
      expect(result.latency.p99 * 2).toBeLessThan(rr.latency.p99);
      expect(result.backends.find((backend) => backend.id === "b5")?.share).toBeLessThan(0.12);
      expect(result.hedgedPct).toBeLessThanOrEqual(5);
    });

    it(`heavy-tail: hedging cuts p99 well below alpha1 without hedging, within 5% extra requests (seed ${seed})`, () => {
      const hedged = runScenario("heavy-tail", "alpha1", { requests: 30_000, seed });
      const plain = runScenario("heavy-tail", noHedge, { requests: 30_000, seed });
      expect(plain.hedgedPct).toBe(0);
      expect(hedged.hedgedPct).toBeGreaterThan(2);
      expect(hedged.hedgedPct).toBeLessThanOrEqual(5);
      expect(hedged.latency.p99).toBeLessThan(0.8 * plain.latency.p99);
      expect(hedged.latency.p95).toBeLessThan(plain.latency.p95);
    });
  }

  it("accounts for every request and every attempt in every scenario, hedges within budget", () => {
    for (const scenario of listScenarios()) {
      const simulation = new Simulation({
        scenario,
        algorithm: "alpha1",
        requests: 10_000,
        seed: 3,
      });
      const result = simulation.run();
      expect(served(result) + result.errors).toBe(10_000);
      expect(result.hedgedPct).toBeLessThanOrEqual(5);
      // Every attempt routed is a first try, a failover or a hedge, and the balancer saw the same hedges.
      const hedges = Math.round((result.hedgedPct * 10_000) / 100);
      const routed = result.backends.reduce((total, backend) => total + backend.routed, 0);
      expect(routed).toBe(10_000 + result.retries + hedges);
      const stats = simulation.balancer.stats();
      expect(stats.hedges).toBe(hedges);
      expect(stats.inFlight).toBe(0);
    }
  });

  it("backs off where a second try cannot win (the tail is the requests' own)", () => {
    for (const scenario of ["uniform", "hot-keys"]) {
      const result = runScenario(scenario, "alpha1", { requests: 20_000, seed: 4 });
      const plain = runScenario(scenario, noHedge, { requests: 20_000, seed: 4 });
      expect(result.hedgedPct).toBeLessThan(1);
      expect(result.latency.p99).toBeLessThan(plain.latency.p99 * 1.05);
    }
  });

  it("is deterministic with hedging on", () => {
    const a = runScenario("heavy-tail", "alpha1", { requests: 10_000, seed: 9, recordRouting: true });
    const b = runScenario("heavy-tail", "alpha1", { requests: 10_000, seed: 9, recordRouting: true });
    expect(withoutWallTime(b)).toEqual(withoutWallTime(a));
  });

  it("hedges only algorithms with a hedge policy", () => {
    for (const algorithm of ["p2c", "peak-ewma", noHedge]) {
      expect(runScenario("heavy-tail", algorithm, { requests: 5_000, seed: 2 }).hedgedPct).toBe(0);
    }
  });

  it("a hedge wins only when its service time is its own: the same heavy tail carried by the requests is not hedged", () => {
    const heavyTail = getScenario("heavy-tail");
    const requestTail = {
      ...heavyTail,
      name: "heavy-tail-in-requests",
      backends: heavyTail.backends.map(({ variability: _variability, ...backend }) => backend),
    };
    const backendSide = runScenario(heavyTail, "alpha1", { requests: 20_000, seed: 5 });
    const requestSide = runScenario(requestTail, "alpha1", { requests: 20_000, seed: 5 });
    expect(backendSide.hedgedPct).toBeGreaterThan(2);
    expect(requestSide.hedgedPct).toBeLessThan(1);
  });
});

/**
 * The built-in scenarios behave as they should in reality: load-aware
 * algorithms beat round-robin on a slow backend, a failed backend gets no
 * traffic while marked down, scale-out spreads onto new backends. Fixed seeds,
 * small request counts.
 */
import { describe, expect, it } from "vitest";
import { listAlgorithms } from "../algorithms/registry.js";
import { runScenario } from "./compare.js";
import type { SimulationResult } from "./run-results.js";
import { listScenarios, validateScenario } from "./scenarios.js";

function eventAt(result: SimulationResult, kind: string, backend: string): number | undefined {
  return result.events.find((event) => event.kind === kind && event.backend === backend)?.atMs;
}

function routedBetween(result: SimulationResult, backend: string, from: number, to: number): number {
  return (result.routing?.[backend] ?? []).filter((t) => t >= from && t < to).length;
}

describe("built-in scenarios", () => {
  it("are valid and load the starting backends at 70–80%", () => {
    const names = listScenarios().map((scenario) => scenario.name);
    expect(names).toEqual([
      "uniform",
      "heterogeneous",
      "slowdown",
      "failure",
      "hot-keys",
      "scale-out",
      "heavy-tail",
      "uneven-load",
    ]);
    for (const scenario of listScenarios()) {
      validateScenario(scenario);
      expect(scenario.utilization).toBeGreaterThanOrEqual(0.7);
      expect(scenario.utilization).toBeLessThanOrEqual(0.8);
    }
  });
});

describe("heterogeneous", () => {
  for (const seed of [1, 2]) {
    it(`p2c and peak-ewma get p99 at least 2x lower than round-robin (seed ${seed})`, () => {
      const rr = runScenario("heterogeneous", "round-robin", { requests: 30_000, seed });
      for (const algorithm of ["p2c", "peak-ewma"]) {
        const result = runScenario("heterogeneous", algorithm, { requests: 30_000, seed });
        expect(result.latency.p99 * 2).toBeLessThan(rr.latency.p99);
        // They get there by sending the slow backend less than its round-robin fifth.
        const slow = result.backends.find((backend) => backend.id === "b5");
        expect(slow?.share).toBeLessThan(0.12);
      }
    });
  }
});

describe("prequal in the simulator", () => {
  for (const seed of [1, 2]) {
    it(`its probes cut p99 below p2c's on heterogeneous (under 0.6x) and slowdown (seed ${seed})`, () => {
      const ratio = (scenario: string) =>
        runScenario(scenario, "prequal", { requests: 30_000, seed }).latency.p99 /
        runScenario(scenario, "p2c", { requests: 30_000, seed }).latency.p99;
      expect(ratio("heterogeneous")).toBeLessThan(0.6);
      expect(ratio("slowdown")).toBeLessThan(0.9);
    });
  }

  it("sends the slowed backend its share again once it recovers (its old latencies are forgotten while idle)", () => {
    const result = runScenario("slowdown", "prequal", { requests: 30_000, seed: 1, recordRouting: true });
    const routing = result.routing ?? {};
    const end = Math.max(...Object.values(routing).map((times) => times.at(-1) ?? 0));
    // The last quarter of the run, well after b3's slowdown (30% to 60%) ended: about a fifth each.
    const late = (id: string) => (routing[id] ?? []).filter((t) => t > 0.75 * end).length;
    const total = Object.keys(routing).reduce((sum, id) => sum + late(id), 0);
    expect(late("b3") / total).toBeGreaterThan(0.15);
  });

  it("with hedge, it cuts heavy-tail's p99 (service times no routing avoids) below 0.8x p2c's", () => {
    const hedged = runScenario("heavy-tail", { name: "prequal", hedge: {} }, { requests: 30_000, seed: 1 });
    const p2c = runScenario("heavy-tail", "p2c", { requests: 30_000, seed: 1 });
    expect(hedged.hedgedPct).toBeGreaterThan(0);
    expect(hedged.latency.p99).toBeLessThan(0.8 * p2c.latency.p99);
  });
});

describe("failure", () => {
  const requests = 20_000;

  for (const definition of listAlgorithms()) {
    it(`${definition.name}: no request is routed to b2 while it is marked down, and no client errors`, () => {
      const result = runScenario("failure", definition.name, { requests, seed: 4, recordRouting: true });
      const failureStart = eventAt(result, "failure-start", "b2") as number;
      const failureEnd = eventAt(result, "failure-end", "b2") as number;
      const down = eventAt(result, "marked-down", "b2");
      const up = eventAt(result, "marked-up", "b2");
      if (down === undefined) {
        // Never marked down: it cannot have failed 3 attempts in a row.
        expect(result.backends.find((b) => b.id === "b2")?.failedAttempts).toBeLessThan(3);
      } else {
        expect(down).toBeGreaterThanOrEqual(failureStart);
        expect(up).toBeGreaterThan(failureEnd);
        // Strictly after the mark-down until the mark-up: nothing (retries included).
        const after = (result.routing?.b2 ?? []).filter((t) => t > down && t < (up as number));
        expect(after).toEqual([]);
      }
      // Up to 4 distinct candidates per request and one dead backend: every request succeeds.
      expect(result.errors).toBe(0);
    });
  }

  it("load-aware and rotating algorithms send traffic to b2 again once it is back", () => {
    for (const algorithm of ["round-robin", "p2c", "least-connections"]) {
      const result = runScenario("failure", algorithm, { requests, seed: 4, recordRouting: true });
      const up = eventAt(result, "marked-up", "b2") as number;
      expect(routedBetween(result, "b2", up, Number.POSITIVE_INFINITY)).toBeGreaterThan(1000);
      expect(result.retries).toBeGreaterThan(0);
    }
  });
});

describe("scale-out", () => {
  const counts = (result: SimulationResult) => {
    const joined = eventAt(result, "joined", "b6") as number;
    expect(eventAt(result, "joined", "b5")).toBeLessThan(joined);
    // From a second after the last join to the end of arrivals, six backends share the load.
    const perBackend = ["b1", "b2", "b3", "b4", "b5", "b6"].map((id) =>
      routedBetween(result, id, joined + 1000, result.durationMs),
    );
    const mean = perBackend.reduce((a, b) => a + b, 0) / perBackend.length;
    return perBackend.map((count) => count / mean);
  };

  it("spreads traffic evenly onto the backends that joined", () => {
    for (const algorithm of ["round-robin", "p2c", "least-connections"]) {
      const result = runScenario("scale-out", algorithm, { requests: 40_000, seed: 6, recordRouting: true });
      for (const ratio of counts(result)) {
        expect(ratio).toBeGreaterThan(0.9);
        expect(ratio).toBeLessThan(1.1);
      }
    }
  });

  it("peak-ewma also sends the new backends their share (its latency peaks make it lumpier)", () => {
    const result = runScenario("scale-out", "peak-ewma", { requests: 40_000, seed: 6, recordRouting: true });
    const ratios = counts(result);
    expect(ratios[4]).toBeGreaterThan(0.7);
    expect(ratios[5]).toBeGreaterThan(0.7);
  });

  it("key-blind algorithms remap most keys across the change", () => {
    const result = runScenario("scale-out", "round-robin", { requests: 40_000, seed: 6 });
    expect(result.keysRemapped).toBeGreaterThan(0.7);
  });
});

describe("slowdown", () => {
  it("load-aware algorithms steer away from the degraded backend; round-robin does not", () => {
    const shareDuring = (result: SimulationResult) => {
      const from = eventAt(result, "slowdown-start", "b3") as number;
      const to = eventAt(result, "slowdown-end", "b3") as number;
      const counts = ["b1", "b2", "b3", "b4", "b5"].map((id) => routedBetween(result, id, from, to));
      return (counts[2] as number) / counts.reduce((a, b) => a + b, 0);
    };
    const options = { requests: 30_000, seed: 8, recordRouting: true };
    const rr = runScenario("slowdown", "round-robin", options);
    expect(shareDuring(rr)).toBeCloseTo(0.2, 2);
    for (const algorithm of ["p2c", "peak-ewma"]) {
      const result = runScenario("slowdown", algorithm, options);
      expect(shareDuring(result)).toBeLessThan(0.16);
      expect(result.latency.p99 * 2).toBeLessThan(rr.latency.p99);
    }
  });
});

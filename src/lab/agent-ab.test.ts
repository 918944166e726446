/**
 * SwarmGuard's A/B success criteria, simulated: on backends with 10% / 50% / 80%
 * background CPU load, with simulated agents feeding the metrics store every
 * simulated second, `metrics` and `hybrid` keep the load variance (CV of the
 * backends' CPU utilisation) under 15% while round-robin does not, and each
 * decision's time is measured (its figure against SwarmGuard's 5 ms is a bench
 * result, bench/agent-ab.js, not a timed assertion). `metrics` on the raw figures (SwarmGuard's
 * literal rule) herds, which the default extrapolation avoids.
 */
import { describe, expect, it } from "vitest";
import * as switchyard from "../index.js";
import { AGENT_AB_ALGORITHMS, compareAgentAb, runAgentAb } from "./agent-ab.js";
import { getScenario, validateScenario } from "./scenarios.js";

describe("uneven-load agent A/B (simulated)", () => {
  it("is a valid scenario with uneven background load", () => {
    const scenario = getScenario("uneven-load");
    validateScenario(scenario);
    expect(scenario.backends.map((backend) => backend.backgroundLoad)).toEqual([0.1, 0.5, 0.8]);
  });

  for (const seed of [1, 2]) {
    it(`metrics and hybrid keep load variance under 15%, round-robin does not (seed ${seed})`, () => {
      const [rr, metrics, hybrid, , raw] = compareAgentAb({ requests: 15_000, seed });
      if (!rr || !metrics || !hybrid || !raw) throw new Error("missing result");
      expect(rr.algorithm).toBe("round-robin");
      expect(rr.loadVariancePercent).toBeGreaterThan(20);
      // Round-robin ignores the load: equal shares, and the 80% backend falls behind.
      for (const backend of rr.backends) expect(backend.share).toBeCloseTo(1 / 3, 2);
      expect(rr.backends[2]?.backlogAtEnd).toBeGreaterThan(100);

      for (const result of [metrics, hybrid]) {
        expect(result.loadVariancePercent).toBeLessThan(15);
        // They get there by sending the idle backend most and the busiest least.
        const [b1, b2, b3] = result.backends;
        expect(b1?.share).toBeGreaterThan(0.5);
        expect(b3?.share).toBeLessThan(b2?.share ?? 0);
        expect(result.meanDecisionNs).toBeGreaterThan(0);
        // The agents' figures were read fresh, except before their first report.
        expect(result.cacheHitRate).toBeGreaterThan(0.95);
        expect(result.latencyMs.p99).toBeLessThan(rr.latencyMs.p99);
      }
    });

    it(`metrics extrapolates the figures between reports instead of herding on them (seed ${seed})`, () => {
      const [, metrics, , , raw] = compareAgentAb({ requests: 15_000, seed });
      if (!metrics || !raw) throw new Error("missing result");
      expect(raw.algorithm).toBe("metrics (no prediction)");
      // Raw figures send each second's traffic to one backend: queues, then seconds of latency.
      expect(raw.latencyMs.p99).toBeGreaterThan(1000);
      // Predicted, the split settles where the CPU figures are level, without the queues.
      expect(metrics.loadVariancePercent).toBeLessThan(5);
      expect(metrics.loadVariancePercent).toBeLessThan(raw.loadVariancePercent / 2);
      expect(metrics.latencyMs.p99 * 10).toBeLessThan(raw.latencyMs.p99);
    });
  }

  it("falls back to round-robin (counted) when the agents' figures are always stale", () => {
    const result = runAgentAb({ algorithm: "metrics", requests: 3_000, ttlMs: 1, pollIntervalMs: 1000 });
    expect(result.cacheHitRate).toBeLessThan(0.05);
    expect(result.fallbacks).toBeGreaterThan(2_900);
    for (const backend of result.backends) expect(backend.share).toBeCloseTo(1 / 3, 1);
  });

  it("is part of the package API", () => {
    expect(switchyard.runAgentAb).toBe(runAgentAb);
    expect(switchyard.compareAgentAb).toBe(compareAgentAb);
    expect(switchyard.AGENT_AB_ALGORITHMS).toBe(AGENT_AB_ALGORITHMS);
  });

  it("is deterministic for a seed", () => {
    const a = runAgentAb({ algorithm: "hybrid", requests: 2_000, seed: 7 });
    const b = runAgentAb({ algorithm: "hybrid", requests: 2_000, seed: 7 });
    expect(a.backends).toEqual(b.backends);
    expect(a.latencyMs).toEqual(b.latencyMs);
  });
});

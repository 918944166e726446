/**
 * Which algorithms run without their inputs in simulation, asked of every
 * registered algorithm (so a new one is covered without touching this test):
 * the simulator models no monitoring agents and no client locations, so the
 * metrics-driven and geo algorithms fall back on every pick, and only they do.
 */
import { describe, expect, it } from "vitest";
import { compareAlgorithms } from "./compare.js";

describe("simulation fallbacks", () => {
  it("are recorded, with the reason, for exactly the algorithms that lack an input", () => {
    const results = compareAlgorithms("uniform", "all", { requests: 400, onSkip: () => undefined });
    expect(results.length).toBeGreaterThan(20);
    const fallbacks = Object.fromEntries(
      results.filter((r) => r.fallback).map((r) => [r.algorithm, r.fallback]),
    );
    const metrics = { picks: 400, reason: expect.stringMatching(/agent reports: round-robin$/) };
    const geo = { picks: 400, reason: expect.stringMatching(/^client location unknown.*least in flight$/) };
    expect(fallbacks).toEqual({
      metrics,
      hybrid: metrics,
      "resource-aware": metrics,
      "geo-proximity": geo,
      geographical: geo,
    });
  });
});

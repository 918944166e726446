import { Counter, Gauge, Registry, Summary } from "prom-client";
import { describe, expect, it } from "vitest";
import { combineNumbers } from "./combine.js";
import { mergeWorkerMetrics } from "./metrics-merge.js";

/** One worker's registry as its admin API serves it with ?format=json. */
async function workerMetrics(requests: number, inFlight: number, breaker: number, latencies: number[]) {
  const registry = new Registry();
  new Counter({ name: "requests_total", help: "r", registers: [registry] }).inc(requests);
  new Gauge({ name: "in_flight", help: "f", registers: [registry] }).set(inFlight);
  new Gauge({ name: "breaker_state", help: "b", aggregator: "max", registers: [registry] }).set(breaker);
  const summary = new Summary({ name: "latency", help: "l", percentiles: [0.5], registers: [registry] });
  for (const latency of latencies) summary.observe(latency);
  return registry.getMetricsAsJSON();
}

describe("mergeWorkerMetrics", () => {
  it("adds counters and in-flight gauges, takes the worst state and the highest quantile", async () => {
    const merged = mergeWorkerMetrics([
      await workerMetrics(5, 2, 0, [1, 1, 1]),
      await workerMetrics(7, 1, 2, [9, 9]),
    ]);
    const text = await merged.metrics();
    expect(text).toMatch(/^requests_total 12$/m);
    expect(text).toMatch(/^in_flight 3$/m);
    expect(text).toMatch(/^breaker_state 2$/m);
    expect(text).toMatch(/^latency\{quantile="0.5"\} 9$/m);
    expect(text).toMatch(/^latency_count 5$/m);
    expect(text).toMatch(/^latency_sum 21$/m);
  });
});

describe("combineNumbers", () => {
  it("leaves out a worker's NaN (a quantile with no recent samples) unless every worker reports NaN", () => {
    expect(combineNumbers([Number.NaN, 0.25, 0.5], "max")).toBe(0.5);
    expect(combineNumbers([Number.NaN, 4], "average")).toBe(4);
    expect(combineNumbers([Number.NaN, Number.NaN], "max")).toBeNaN();
    expect(combineNumbers([], "sum")).toBe(0);
  });
});

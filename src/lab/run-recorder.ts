/**
 * What a simulation run measures, kept apart from how it runs: client-visible
 * latency of each successful request (by arrival time), client errors, the
 * backend each key was served by in the two remap windows, counters and
 * events; and the assembly of the final `SimulationResult`.
 */
import {
  type LabEvent,
  latencyTimeline,
  remappedFraction,
  round3,
  type SimulationResult,
  summarizeLatency,
  windowedLoadSpread,
} from "./run-results.js";
import type { SimBackend } from "./sim-backend.js";

/** The run's identity, as the result repeats it, and how finely to record it. */
export type RunDescription = Pick<
  SimulationResult,
  "scenario" | "algorithm" | "seed" | "requests" | "arrivalRateRps" | "durationMs"
> & {
  timelineBuckets: number;
  recordRouting: boolean;
};

export class RunRecorder {
  retries = 0;
  noBackend = 0;
  /** Second attempts opened beside a slow first one. */
  hedges = 0;
  #latencies: Float64Array;
  #successArrivals: Float64Array;
  #succeeded = 0;
  #errorArrivals: Float64Array;
  #failed = 0;
  #remapBeforeMs: number;
  #remapAfterMs: number;
  #keyBefore: Int32Array;
  #keyAfter: Int32Array;
  /** Arrival time of the request behind `#keyBefore` / `#keyAfter`: the latest arrival wins, not the latest completion. */
  #keyBeforeAt: Float64Array;
  #keyAfterAt: Float64Array;
  #events: LabEvent[] = [];

  constructor(requests: number, keyCount: number, remapBeforeMs: number, remapAfterMs: number) {
    this.#latencies = new Float64Array(requests);
    this.#successArrivals = new Float64Array(requests);
    this.#errorArrivals = new Float64Array(requests);
    this.#remapBeforeMs = remapBeforeMs;
    this.#remapAfterMs = remapAfterMs;
    this.#keyBefore = new Int32Array(keyCount).fill(-1);
    this.#keyAfter = new Int32Array(keyCount).fill(-1);
    this.#keyBeforeAt = new Float64Array(keyCount).fill(-1);
    this.#keyAfterAt = new Float64Array(keyCount).fill(-1);
  }

  /** Requests answered or failed for the client so far. */
  get settled(): number {
    return this.#succeeded + this.#failed;
  }

  /** A request that arrived at `arrival` was answered at `now` by backend `backendIndex`. */
  success(arrival: number, now: number, key: number, backendIndex: number): void {
    this.#latencies[this.#succeeded] = now - arrival;
    this.#successArrivals[this.#succeeded++] = arrival;
    if (arrival < this.#remapBeforeMs && arrival > (this.#keyBeforeAt[key] as number)) {
      this.#keyBefore[key] = backendIndex;
      this.#keyBeforeAt[key] = arrival;
    }
    if (arrival >= this.#remapAfterMs && arrival > (this.#keyAfterAt[key] as number)) {
      this.#keyAfter[key] = backendIndex;
      this.#keyAfterAt[key] = arrival;
    }
  }

  /** A request that arrived at `arrival` failed for the client. */
  clientError(arrival: number): void {
    this.#errorArrivals[this.#failed++] = arrival;
  }

  event(atMs: number, backend: string, kind: LabEvent["kind"]): void {
    this.#events.push({ atMs: round3(atMs), backend, kind });
  }

  result(run: RunDescription, backends: readonly SimBackend[], wallMs: number): SimulationResult {
    const served = this.#succeeded;
    const latencies = this.#latencies.subarray(0, served);
    const result: SimulationResult = {
      scenario: run.scenario,
      algorithm: run.algorithm,
      seed: run.seed,
      requests: run.requests,
      arrivalRateRps: round3(run.arrivalRateRps),
      durationMs: round3(run.durationMs),
      latency: summarizeLatency(latencies),
      load: windowedLoadSpread(
        backends.map((sim) => sim.routedPerWindow),
        backends.map((sim) => sim.aliveIntervals),
        run.durationMs,
      ),
      errors: this.#failed,
      errorRate: round3(this.#failed / run.requests),
      noBackend: this.noBackend,
      retries: this.retries,
      hedgedPct: round3((this.hedges / run.requests) * 100),
      keysRemapped: remappedFraction(this.#keyBefore, this.#keyAfter),
      backends: backends.map((sim) => ({
        id: sim.spec.id,
        routed: sim.routed,
        served: sim.served,
        failedAttempts: sim.failedAttempts,
        share: served === 0 ? 0 : round3(sim.served / served),
        aliveMs: round3(sim.aliveMs),
        servedPerSecond: sim.aliveMs === 0 ? 0 : round3((sim.served * 1000) / sim.aliveMs),
      })),
      events: this.#events,
      timeline: latencyTimeline(
        latencies,
        this.#successArrivals.subarray(0, served),
        this.#errorArrivals.subarray(0, this.#failed),
        run.durationMs,
        run.timelineBuckets,
      ),
      wallMs: Math.round(wallMs),
    };
    if (run.recordRouting) {
      result.routing = Object.fromEntries(backends.map((sim) => [sim.spec.id, sim.routing ?? []]));
    }
    return result;
  }
}

/**
 * Per-region routing counters kept by the geo-aware selectors: `requests`
 * (attempts routed to a backend in the region, retries included),
 * `failovers` (requests that had to leave the client's own region because no
 * backend there could take them, counted against that region, once per
 * request) and `latencyMs` (the latency of the attempts the region's
 * backends answered, fed by the selector's `observe()`). Read through
 * `regionStats()` by admin and metrics.
 *
 * Latency is keyed by the serving backend's region, like `requests`:
 * `observe(backend, outcome)` does not say which client the attempt was for,
 * and for requests kept in their own region (the common case) the two are
 * the same. Only successful attempts count: not transport errors, 5xx
 * answers, hedges cancelled by the caller (`HEDGE_CANCELLED` is an error) or
 * attempts without a latency. Attempts routed by session
 * affinity (no `pick()`) count here but not in `requests`. Quantiles are over
 * the last 10–20 s, count/sum/mean/max over the process's life, as for the
 * per-backend latency in metrics.
 */
import type { Backend } from "../core/backend.js";
import { bucketIndex, WindowedHistogram, type WindowSummary } from "../core/log-histogram.js";
import type { Outcome } from "../core/outcome.js";

/** Length of a latency window, ms: quantiles cover the current and the previous one. */
const LATENCY_WINDOW_MS = 10_000;

export interface RegionCounters {
  requests: number;
  failovers: number;
  /**
   * Latency of the attempts answered by the region's backends, in ms: p50/p95/p99
   * over the last 10–20 s (`recentCount` values), count/sum/mean/max lifetime.
   * Absent until the region has answered one.
   */
  latencyMs?: WindowSummary;
}

/** A selector that keeps per-region counters. */
export interface RegionStatsSource {
  regionStats(): Record<string, RegionCounters>;
}

export function hasRegionStats(value: object): value is RegionStatsSource {
  return typeof (value as Partial<RegionStatsSource>).regionStats === "function";
}

interface RegionSeries {
  requests: number;
  failovers: number;
  /** Microseconds, so sub-millisecond answers keep their precision. */
  latencyUs: WindowedHistogram | undefined;
}

export class RegionStats {
  readonly #counters = new Map<string, RegionSeries>();
  readonly #now: () => number;

  /** `now`: a monotonic clock in ms (the selector's `env.now`), for the latency windows. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Counts an attempt on `backend` for a client whose own region is `home`:
   * routed to the backend's region, and a failover for `home` when this is
   * the request's first attempt outside it.
   */
  record(backend: Backend, home: string | undefined, tried: readonly Backend[]): void {
    if (backend.region !== undefined) this.routed(backend.region);
    if (home !== undefined && backend.region !== home && !leftRegionBefore(tried, home))
      this.failedOver(home);
  }

  /** An attempt went to a backend in `region`. */
  routed(region: string): void {
    this.#counter(region).requests++;
  }

  /** A request from `region` was sent elsewhere. */
  failedOver(region: string): void {
    this.#counter(region).failovers++;
  }

  /**
   * An attempt on `backend` finished (the selector's `observe`): its latency
   * goes to the backend's region when it succeeded (no error, a cancelled
   * hedge included; no 5xx) and carries a latency.
   */
  observe(backend: Backend, outcome: Outcome): void {
    const region = backend.region;
    const latencyMs = outcome.latencyMs;
    if (region === undefined || latencyMs === undefined || outcome.error !== undefined) return;
    if (outcome.status !== undefined && outcome.status >= 500) return;
    this.latency(region, latencyMs);
  }

  /** Records one answered attempt of `latencyMs` in `region`. */
  latency(region: string, latencyMs: number): void {
    const counter = this.#counter(region);
    const epoch = this.#epoch();
    let histogram = counter.latencyUs;
    if (histogram === undefined) {
      histogram = new WindowedHistogram(epoch);
      counter.latencyUs = histogram;
    } else histogram.rotate(epoch);
    const us = latencyMs * 1000;
    histogram.add(bucketIndex(us), us);
  }

  /** A copy of the counters, regions in first-seen order. */
  snapshot(): Record<string, RegionCounters> {
    const out: Record<string, RegionCounters> = {};
    const epoch = this.#epoch();
    for (const [region, counter] of this.#counters) {
      const figures: RegionCounters = { requests: counter.requests, failovers: counter.failovers };
      if (counter.latencyUs !== undefined) figures.latencyMs = counter.latencyUs.summary(epoch, 1e-3);
      out[region] = figures;
    }
    return out;
  }

  #epoch(): number {
    return Math.floor(this.#now() / LATENCY_WINDOW_MS);
  }

  #counter(region: string): RegionSeries {
    let counter = this.#counters.get(region);
    if (counter === undefined) {
      counter = { requests: 0, failovers: 0, latencyUs: undefined };
      this.#counters.set(region, counter);
    }
    return counter;
  }
}

/** True when an attempt of this request already went outside `region`. */
function leftRegionBefore(tried: readonly Backend[], region: string): boolean {
  for (let i = 0; i < tried.length; i++) {
    if ((tried[i] as Backend).region !== region) return true;
  }
  return false;
}

/**
 * What a balancer records as it routes, kept cheap enough to stay on the hot
 * path. The balancer calls two hooks: `decided(decision, at)` once per
 * request after choosing (one per-second counter, one histogram record, the
 * explain ring's countdown, a log-level check) and `completed(backend,
 * outcome)` once per finished attempt (one map lookup, a status-class
 * counter, a windowed request count, and a latency record into the pool's and
 * the backend's histograms and fixed buckets). Neither allocates, except the reason text of a
 * decision the explain ring keeps (it must be written while it is true); every figure read from them —
 * percentiles, rates, load spread — is computed when `snapshot()` is called
 * (the admin API and the Prometheus scrape). The debug routing log (SwarmGuard's
 * DEBUG_ROUTING) is on when the balancer's logger is at debug: one line per
 * decision with the algorithm, the candidates' scores and the winner's reason.
 *
 * Memory: two 3.5 KiB histograms and 120 B of fixed buckets per backend and
 * per pool series; the explain ring holds its last 100 decisions (and their
 * request contexts).
 */
import { performance } from "node:perf_hooks";
import type { Backend } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import {
  bucketIndex,
  LogHistogram,
  summarize,
  WindowedHistogram,
  type WindowSummary,
} from "../core/log-histogram.js";
import { type AttemptObserver, isCancelled, type Outcome } from "../core/outcome.js";
import type { Pool } from "../core/pool.js";
import type { Selector } from "../core/selector.js";
import { DecisionRing, type DecisionRingOptions, type ExplainedDecision } from "./decision-ring.js";
import { LatencyBuckets, latencyBucket } from "./latency-buckets.js";
import type { Logger } from "./logger.js";
import { PerSecondCounter, type RateWindow } from "./rate-window.js";

export interface BalancerMetricsOptions {
  /** The recent-decisions ring behind `/api/explain`: sampling, size. */
  explain?: DecisionRingOptions;
}

export interface BalancerMetricsSetup extends BalancerMetricsOptions {
  pool: Pool;
  /** The balancer's clock when injected; undefined: the `at` the balancer passes (performance.now). */
  now?: () => number;
  logger: Logger;
  /** The algorithm in use now (its scores go with kept decisions). */
  selector: () => Pick<Selector, "score">;
}

/** Outcome classes: HTTP status classes, `error` (no response: connect, reset, timeout), `none` (neither: TCP, aborted). */
export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "error", "none"] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];
const ERROR_CLASS = 5;
const NONE_CLASS = 6;

/** Length of one recent window; percentiles cover the current and the previous one. */
export const RECENT_WINDOW_SECONDS = 10;

export interface ResourceReport {
  id: string;
  region: string | undefined;
  /** Finished attempts by outcome class, since the backend joined. */
  statusClasses: Record<StatusClass, number>;
  /** Response latency in ms (successful responses, 5xx included; transport errors not). */
  latencyMs: WindowSummary;
  /** The same latencies in fixed buckets since the backend joined, cumulative (latency-buckets.ts). */
  latencyBuckets: number[];
  /** Attempts finished in the last 10–20 s. */
  recentRequests: number;
}

export interface PoolMetrics {
  /** Time to choose a backend, in ns. */
  decisionNs: WindowSummary;
  /** Response latency over every backend, in ms. */
  latencyMs: WindowSummary;
  /** The same latencies in fixed buckets, cumulative. */
  latencyBuckets: number[];
  /** Requests routed per second over the last 1, 10 and 60 s (complete seconds). */
  requestsPerSecond: Record<`${RateWindow}s`, number>;
  /**
   * Load spread across ready backends as a coefficient of variation (std /
   * mean, 0 = perfectly even), each backend's load divided by its weight:
   * `requests` over the last 10–20 s, `inFlight` right now.
   */
  loadCv: { requests: number; inFlight: number };
  backends: ResourceReport[];
  /** Finished attempts by backend region (`none` for backends without one). */
  regions: Record<string, number>;
  explain: { sample: number; capacity: number; kept: number };
}

class BackendSeries {
  readonly classes = new Float64Array(STATUS_CLASSES.length);
  readonly latencyUs: WindowedHistogram;
  readonly latencyBuckets = new LatencyBuckets();
  #epoch: number;
  #current = 0;
  #previous = 0;

  constructor(epoch: number) {
    this.#epoch = epoch;
    this.latencyUs = new WindowedHistogram(epoch);
  }

  /**
   * Moves the recent count and latency windows on to `epoch` before anything
   * is recorded in it (lazily, on the backend's own traffic, so a tick never
   * walks every backend).
   */
  advance(epoch: number): void {
    if (epoch <= this.#epoch) return;
    this.#previous = epoch === this.#epoch + 1 ? this.#current : 0;
    this.#current = 0;
    this.#epoch = epoch;
    this.latencyUs.rotate(epoch);
  }

  count(): void {
    this.#current++;
  }

  recentCount(epoch: number): number {
    if (epoch <= this.#epoch) return this.#current + this.#previous;
    return epoch === this.#epoch + 1 ? this.#current : 0;
  }
}

export class BalancerMetrics implements AttemptObserver {
  readonly explain: DecisionRing;
  #pool: Pool;
  #now: (() => number) | undefined;
  #logger: Logger;
  #selector: () => Pick<Selector, "score">;
  #perSecond: PerSecondCounter;
  #epoch: number;
  #decisionNs: WindowedHistogram;
  #responseUs: WindowedHistogram;
  #responseBuckets = new LatencyBuckets();
  #backends = new Map<Backend, BackendSeries>();

  constructor(setup: BalancerMetricsSetup) {
    this.#pool = setup.pool;
    this.#now = setup.now;
    this.#logger = setup.logger;
    this.#selector = setup.selector;
    this.explain = new DecisionRing(setup.explain);
    const second = Math.floor(this.#clock() / 1000);
    this.#perSecond = new PerSecondCounter(second);
    this.#epoch = Math.floor(second / RECENT_WINDOW_SECONDS);
    this.#decisionNs = new WindowedHistogram(this.#epoch);
    this.#responseUs = new WindowedHistogram(this.#epoch);
  }

  /**
   * A request was routed. `at` is the balancer's performance.now() reading
   * from the selection (used unless the balancer runs on an injected clock).
   */
  decided(decision: Decision, at: number): void {
    const now = this.#now === undefined ? at : this.#now();
    const second = Math.floor(now / 1000);
    if (second > this.#perSecond.second) this.#tick(second);
    this.#perSecond.increment(second);
    this.#decisionNs.record(decision.selectionNs);
    if (this.explain.sample !== 0) this.explain.offer(decision, now, this.#pool.backends, this.#selector());
    if (this.#logger.isLevelEnabled("debug")) this.#logger.debug(decision.explain(), "routing decision");
  }

  /** An attempt finished (hedge cancellations are skipped: they say nothing about the backend). */
  closed(backend: Backend, outcome: Outcome): void {
    if (isCancelled(outcome)) return;
    const status = outcome.status;
    const latencyMs = outcome.latencyMs;
    const series = this.#backends.get(backend) ?? this.#track(backend);
    series?.advance(this.#epoch);
    if (latencyMs !== undefined && outcome.error === undefined) {
      const us = latencyMs * 1000;
      const index = bucketIndex(us);
      this.#responseUs.add(index, us);
      series?.latencyUs.add(index, us);
      const bucket = latencyBucket(latencyMs);
      this.#responseBuckets.add(bucket);
      series?.latencyBuckets.add(bucket);
    }
    if (series === undefined) return;
    series.count();
    const outcomeClass =
      status !== undefined && status >= 100 && status < 600
        ? ((status / 100) | 0) - 1
        : outcome.error !== undefined
          ? ERROR_CLASS
          : NONE_CLASS;
    series.classes[outcomeClass] = (series.classes[outcomeClass] as number) + 1;
  }

  /** Every figure, computed now. */
  snapshot(): PoolMetrics {
    const second = Math.floor(this.#clock() / 1000);
    if (second > this.#perSecond.second) this.#tick(second);
    const epoch = this.#epoch;
    const members = this.#pool.backends;
    this.#forgetRemoved();
    const backends: ResourceReport[] = [];
    const regions: Record<string, number> = {};
    const requestLoad: number[] = [];
    const inFlightLoad: number[] = [];
    for (const backend of members) {
      const series = this.#backends.get(backend);
      const statusClasses = {} as Record<StatusClass, number>;
      let requests = 0;
      STATUS_CLASSES.forEach((name, index) => {
        const count = series?.classes[index] ?? 0;
        statusClasses[name] = count;
        requests += count;
      });
      const recentRequests = series?.recentCount(epoch) ?? 0;
      const region = backend.region ?? "none";
      regions[region] = (regions[region] ?? 0) + requests;
      if (backend.ready && backend.weight > 0) {
        requestLoad.push(recentRequests / backend.weight);
        inFlightLoad.push(backend.inFlight / backend.weight);
      }
      backends.push({
        id: backend.id,
        region: backend.region,
        statusClasses,
        latencyMs: series ? series.latencyUs.summary(epoch, 0.001) : EMPTY_SUMMARY,
        latencyBuckets: (series?.latencyBuckets ?? EMPTY_BUCKETS).cumulative(),
        recentRequests,
      });
    }
    return {
      decisionNs: this.#decisionNs.summary(epoch),
      latencyMs: this.#responseUs.summary(epoch, 0.001),
      latencyBuckets: this.#responseBuckets.cumulative(),
      requestsPerSecond: this.#perSecond.rates(second),
      loadCv: {
        requests: coefficientOfVariation(requestLoad),
        inFlight: coefficientOfVariation(inFlightLoad),
      },
      backends,
      regions,
      explain: { sample: this.explain.sample, capacity: this.explain.capacity, kept: this.explain.kept },
    };
  }

  /** The kept decisions, newest first. */
  recentDecisions(limit?: number): ExplainedDecision[] {
    return this.explain.recent(limit, this.#now === undefined ? toWallClock : undefined);
  }

  #clock(): number {
    return this.#now === undefined ? performance.now() : this.#now();
  }

  /** Once a second at most: the rate ring moves on, and every 10 s the recent windows. */
  #tick(second: number): void {
    this.#perSecond.advance(second);
    const epoch = Math.floor(second / RECENT_WINDOW_SECONDS);
    if (epoch <= this.#epoch) return;
    this.#epoch = epoch;
    this.#decisionNs.rotate(epoch);
    this.#responseUs.rotate(epoch);
  }

  /** Series for a pool member seen for the first time; none for a backend already removed. */
  #track(backend: Backend): BackendSeries | undefined {
    if (this.#pool.get(backend.id) !== backend) return undefined;
    const series = new BackendSeries(this.#epoch);
    this.#backends.set(backend, series);
    return series;
  }

  #forgetRemoved(): void {
    for (const backend of this.#backends.keys()) {
      if (this.#pool.get(backend.id) !== backend) this.#backends.delete(backend);
    }
  }
}

const EMPTY_SUMMARY: WindowSummary = Object.freeze(
  Object.assign(summarize([new LogHistogram()]), { recentCount: 0 }),
);

const EMPTY_BUCKETS = new LatencyBuckets();

function toWallClock(at: number): number {
  return performance.timeOrigin + at;
}

/** Population standard deviation over the mean; 0 for fewer than two values or a zero mean. */
export function coefficientOfVariation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / values.length;
  if (mean === 0) return 0;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return Math.round((Math.sqrt(squares / values.length) / mean) * 10_000) / 10_000;
}

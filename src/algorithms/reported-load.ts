/**
 * Metrics (SwarmGuard's least-loaded replica): the ready backend with the lowest
 * utilisation score `0.5·cpu + 0.3·memory + 0.2·network` (percent; network as
 * a percentage of `netCapacityBytesPerSec`), read from the resource report store
 * the agent poller fills. Weights are options.
 *
 * Missing figures, shared by `metrics`, `hybrid` and `resource-aware` through
 * `ResourceScanSelector`:
 * - some backends lack fresh reports: each is scored as the mean of those
 *   that have them, so it is neither preferred nor starved;
 * - no ready backend has fresh reports: with the store's fallback
 *   `round-robin` (the default, SwarmGuard's FALLBACK_ENABLED) the pick rotates
 *   and is counted as a fallback; with `none` the missing figures count as 0
 *   and the algorithm ranks by what else it weighs (leases, connections).
 *
 * Lowest score wins; the scan starts one place later on every pick, so ties
 * rotate. Between two agent polls the figures do not move: taken as they are,
 * they send every request to the one least-loaded backend until the next
 * report, and the traffic moves as a herd from backend to backend. So by
 * default `metrics` scores each backend on its figures extrapolated by the
 * requests sent to it since they were reported (`predict`, see
 * `load/routed-since-report.ts`), which spreads each interval's traffic and
 * evens the backends' load; `predict: false` is SwarmGuard's literal rule.
 * `hybrid` spreads the work with its lease term instead.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector, SelectorFallback } from "../core/selector.js";
import { ResourceReportStore, type ResourceSample } from "../load/resource-reports.js";
import { RoutedSinceReport } from "../load/routed-since-report.js";
import type { AlgorithmDefinition } from "./definition.js";

export interface LoadWeights {
  cpu: number;
  memory: number;
  network: number;
}

/** 1 Gbit/s: the network figure that counts as 100%. */
export const DEFAULT_NET_CAPACITY_BYTES_PER_SEC = 125_000_000;

const weight = (fallback: number, what: string) =>
  z.number().min(0).max(1000).default(fallback).describe(`weight of ${what}`);

export const loadWeightsSchema = z
  .strictObject({
    cpu: weight(0.5, "CPU percent"),
    memory: weight(0.3, "memory percent"),
    network: weight(0.2, "network percent of netCapacityBytesPerSec"),
  })
  .prefault({})
  .describe("weights of the agent's figures in the score");

export const netCapacitySchema = z
  .number()
  .positive()
  .default(DEFAULT_NET_CAPACITY_BYTES_PER_SEC)
  .describe("bytes per second (rx + tx) that count as 100% network");

const reportedLoadOptions = z.strictObject({
  weights: loadWeightsSchema,
  netCapacityBytesPerSec: netCapacitySchema,
  predict: z
    .boolean()
    .default(true)
    .describe(
      "scale each backend's figures by the requests sent to it since they were reported (false: the raw figures, which send every request to one backend until the next report)",
    ),
});

/** SwarmGuard's load score, in percent units: weighted CPU, memory and network (capped at 100%). */
export function loadScore(sample: ResourceSample, weights: LoadWeights, netCapacity: number): number {
  const network = Math.min(100, (sample.network / netCapacity) * 100);
  return sample.cpu * weights.cpu + sample.memory * weights.memory + network * weights.network;
}

/**
 * A scan over ready backends scoring `utilisation(fresh sample) + extra(backend)`,
 * lowest wins, with the missing-metrics rules above. Subclasses give the
 * utilisation formula and the terms that need no agent.
 */
export abstract class ResourceScanSelector implements Selector {
  abstract readonly name: string;
  /** Picks made by the round-robin fallback (also counted in the pool's store). */
  fallbacks = 0;
  protected backends: readonly Backend[] = [];
  #metric = new Float64Array(0);
  #eligible = new Uint8Array(0);
  #offset = 0;
  #cursor = 0;
  #lastFallback = false;
  /** Set by a subclass that extrapolates the figures between reports (see RoutedSinceReport). */
  protected routedSinceReport: RoutedSinceReport | undefined;
  /** The pool's agent figures (from the algorithm environment); an empty store when none was given. */
  protected readonly store: ResourceReportStore;

  constructor(store: ResourceReportStore | undefined) {
    this.store = store ?? new ResourceReportStore();
  }

  /** Score of a fresh sample (percent units). */
  protected abstract utilisation(sample: ResourceSample): number;

  /** Terms that need no agent (leases, connections, health); must not allocate. */
  protected extra(_backend: Backend): number {
    return 0;
  }

  /** Runs before the scoring pass over the accepted backends (e.g. to find the busiest). */
  protected beforeScan(_accept: Accept): void {}

  /** The chosen backend, before it is returned (lease acquisition). */
  protected picked(_backend: Backend): void {}

  /** How the score of `backend` reads in an explanation. */
  protected abstract explainScore(backend: Backend, store: ResourceReportStore): string;

  rebuild(backends: readonly Backend[]): void {
    this.backends = backends;
    if (this.#metric.length < backends.length) {
      this.#metric = new Float64Array(backends.length * 2);
      this.#eligible = new Uint8Array(backends.length * 2);
    }
    if (this.#cursor >= backends.length) this.#cursor = 0;
    this.routedSinceReport?.reset(backends.length);
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const backends = this.backends;
    const count = backends.length;
    let eligible = 0;
    let known = 0;
    let sum = 0;
    const store = this.store;
    const routed = this.routedSinceReport;
    routed?.beginScan();
    for (let i = 0; i < count; i++) {
      const backend = backends[i] as Backend;
      if (!accept(backend)) {
        this.#eligible[i] = 0;
        continue;
      }
      this.#eligible[i] = 1;
      eligible++;
      const sample = store.read(backend.id);
      if (sample === undefined) {
        this.#metric[i] = Number.NaN;
      } else {
        const utilisation = this.utilisation(sample);
        this.#metric[i] = utilisation;
        sum += utilisation;
        known++;
        routed?.sampled(sample.at);
      }
    }
    routed?.endScan();
    if (eligible === 0) return undefined;
    if (known === 0 && store.fallback === "round-robin") {
      this.fallbacks++;
      store.recordFallback();
      this.#lastFallback = true;
      const index = this.#rotate();
      routed?.routed(index);
      const backend = backends[index] as Backend;
      this.picked(backend);
      return backend;
    }
    this.#lastFallback = false;
    const neutral = known === 0 ? 0 : sum / known;
    this.beforeScan(accept);
    this.#offset = this.#offset + 1 >= count ? 0 : this.#offset + 1;
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let step = 0; step < count; step++) {
      const index = (this.#offset + step) % count;
      if (this.#eligible[index] === 0) continue;
      const backend = backends[index] as Backend;
      const raw = this.#metric[index] as number;
      const metric = (Number.isNaN(raw) ? neutral : raw) * (routed ? routed.factor(index) : 1);
      const score = backend.weight === 0 ? Number.POSITIVE_INFINITY : metric + this.extra(backend);
      if (best < 0 || score < bestScore) {
        best = index;
        bestScore = score;
      }
    }
    if (best < 0) return undefined;
    routed?.routed(best);
    const backend = backends[best] as Backend;
    this.picked(backend);
    return backend;
  }

  /** Current score of `backend` (fresh metrics or none; not counted as a lookup). */
  score(backend: Backend): number {
    const sample = this.store.peek(backend.id);
    const utilisation = sample && this.store.isFresh(sample) ? this.utilisation(sample) : 0;
    return utilisation * this.#factor(backend) + this.extra(backend);
  }

  /** The extrapolation factor of `backend`'s figures (1 without prediction). */
  #factor(backend: Backend): number {
    const index = this.backends.indexOf(backend);
    return this.routedSinceReport && index >= 0 ? this.routedSinceReport.factor(index) : 1;
  }

  fallback(): SelectorFallback {
    return { picks: this.fallbacks, reason: "no ready backend had fresh agent reports: round-robin" };
  }

  describe(backend: Backend): string {
    if (this.#lastFallback) return "round-robin fallback: no ready backend has fresh agent reports";
    return this.explainScore(backend, this.store);
  }

  /** Index of the next eligible backend in rotation (the scan marked them). */
  #rotate(): number {
    const count = this.backends.length;
    for (let step = 0; step < count; step++) {
      const index = this.#cursor;
      this.#cursor = index + 1 === count ? 0 : index + 1;
      if (this.#eligible[index] === 1) return index;
    }
    throw new Error("unreachable: the scan found an eligible backend");
  }
}

/** "cpu 20%, memory 31%, network 2% (4s old)" or "no fresh reports". */
export function describeSample(backend: Backend, store: ResourceReportStore, netCapacity: number): string {
  const sample = store.peek(backend.id);
  if (!sample || !store.isFresh(sample)) return "no fresh reports, scored as the pool mean";
  const network = Math.min(100, (sample.network / netCapacity) * 100);
  return `cpu ${fixed(sample.cpu)}%, memory ${fixed(sample.memory)}%, network ${fixed(network)}%`;
}

export function fixed(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

export class ReportedLoadSelector extends ResourceScanSelector {
  readonly name = "metrics";
  #weights: LoadWeights;
  #netCapacity: number;

  constructor(options: z.output<typeof reportedLoadOptions>, store?: ResourceReportStore) {
    super(store);
    this.#weights = options.weights;
    this.#netCapacity = options.netCapacityBytesPerSec;
    if (options.predict) this.routedSinceReport = new RoutedSinceReport();
  }

  protected utilisation(sample: ResourceSample): number {
    return loadScore(sample, this.#weights, this.#netCapacity);
  }

  protected explainScore(backend: Backend, store: ResourceReportStore): string {
    const sample = describeSample(backend, store, this.#netCapacity);
    const index = this.backends.indexOf(backend);
    if (!this.routedSinceReport || index < 0)
      return `lowest load score ${fixed(this.score(backend))} (${sample})`;
    return (
      `lowest predicted load score ${fixed(this.score(backend))}: figures × ${fixed(this.routedSinceReport.factor(index))} ` +
      `(${this.routedSinceReport.describe(index)}; ${sample})`
    );
  }
}

export const reportedLoad: AlgorithmDefinition<z.output<typeof reportedLoadOptions>> = {
  name: "metrics",
  aliases: ["least-loaded", "metrics-based"],
  summary:
    "Lowest agent-reported load 0.5·cpu + 0.3·memory + 0.2·network, extrapolated by the requests sent since the report; round-robin when metrics are stale.",
  reference: "SwarmGuard (least-loaded); Mitzenmacher, IEEE TPDS 2000 (stale load information)",
  options: reportedLoadOptions,
  create: (options, env) => new ReportedLoadSelector(options, env.resourceReports),
};

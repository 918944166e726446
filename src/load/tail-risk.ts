/**
 * ALPHA1's tail-risk load: how likely a request sent to a backend now is to
 * land in the tail, in milliseconds, lower is better:
 *
 *   risk = (work + β·interference + γ·age) / weight
 *
 * - work: the backend's EWMA response time (α per sample) × (in flight + 1),
 *   the queue a new request joins (NGINX least_time, linkerd's EWMA load). A
 *   backend not measured yet is charged the pool-wide EWMA (1 ms before any
 *   sample), so a newcomer is tried without being flooded.
 * - interference: EWMA (same α) of (latency − baseline)⁺ in ms, where the
 *   baseline is a slow EWMA (α/10) of the backend's own latency: how far its
 *   answers overshoot its usual self. High on a backend with erratic latency
 *   (noisy neighbour, GC) or one that just slowed down, ~0 on a steady one,
 *   even a steadily slow one (work already charges that).
 * - age: ms since the backend last finished a request while it has requests in
 *   flight (0 when idle): a lower bound on how long its oldest open request
 *   has waited, O(1) to keep (an in-flight drop seen in `loadChanged` is a
 *   completion). Grows without bound on a stalled backend that `work`, fed
 *   only by completions, would not notice.
 * - A failed attempt (transport error or 5xx) is a work and interference
 *   sample of max(its latency, `failurePenaltyMs`); it leaves the baseline
 *   alone. A cancelled hedge (`ignore`) is no sample at all.
 *
 * β and γ are read from an `AdaptiveWeights`, which moves them with the
 * observed p99 (below). Dean & Barroso, "The Tail at Scale" (CACM 2013);
 * Suresh et al., "C3: Cutting Tail Latency in Cloud Data Stores via Adaptive
 * Replica Selection" (NSDI 2015).
 */
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import type { LoadMetric } from "./load-metric.js";

export interface TailRiskOptions {
  /** EWMA smoothing of work and interference per sample, (0, 1]. */
  alpha: number;
  /** Latency charged for a failed attempt, ms. */
  failurePenaltyMs: number;
}

/** Latency assumed for the pool before the first sample, ms. */
const DEFAULT_LATENCY_MS = 1;
/** The baseline moves this many times slower than the work EWMA. */
const BASELINE_SLOWDOWN = 10;

interface TailState {
  /** EWMA of response time, ms; NaN before the first sample. */
  latency: number;
  /** Slow EWMA of successful response times, ms; NaN before the first. */
  baseline: number;
  /** EWMA of (latency − baseline)⁺, ms. */
  interference: number;
  /** In flight when last seen, to tell a completion from a new attempt. */
  inFlight: number;
  /** When the backend last completed a request or went from idle to busy. */
  progressAt: number;
  /** `progressAt` before the last completion, restored when that completion was a cancelled hedge. */
  previousProgressAt: number;
}

export class TailRiskLoad implements LoadMetric {
  readonly name = "tail-risk";
  readonly weights: AdaptiveWeights;
  #options: TailRiskOptions;
  #now: () => number;
  #states = new WeakMap<Backend, TailState>();
  #poolLatency = Number.NaN;

  constructor(options: TailRiskOptions, weights: AdaptiveWeights, now: () => number) {
    this.#options = options;
    this.weights = weights;
    this.#now = now;
  }

  /** EWMA response time × (in flight + 1), ms. */
  work(backend: Backend): number {
    const latency = this.#states.get(backend)?.latency;
    const estimate =
      latency === undefined || Number.isNaN(latency)
        ? Number.isNaN(this.#poolLatency)
          ? DEFAULT_LATENCY_MS
          : this.#poolLatency
        : latency;
    return estimate * (backend.inFlight + 1);
  }

  /** EWMA of the overshoot over the backend's own baseline, ms. */
  interference(backend: Backend): number {
    return this.#states.get(backend)?.interference ?? 0;
  }

  /** Time since the backend last completed a request while busy, ms; 0 when idle. */
  age(backend: Backend): number {
    const state = this.#states.get(backend);
    if (!state || backend.inFlight === 0) return 0;
    return Math.max(0, this.#now() - state.progressAt);
  }

  /** The backend's slow latency baseline, ms (NaN before its first success). */
  baseline(backend: Backend): number {
    return this.#states.get(backend)?.baseline ?? Number.NaN;
  }

  load(backend: Backend): number {
    if (backend.weight === 0) return Number.POSITIVE_INFINITY;
    const { beta, gamma } = this.weights;
    const risk = this.work(backend) + beta * this.interference(backend) + gamma * this.age(backend);
    return risk / backend.weight;
  }

  /** The backend's in-flight count changed: a drop is a completion (progress), a rise from 0 starts the clock. */
  loadChanged(backend: Backend): void {
    const state = this.#state(backend);
    const inFlight = backend.inFlight;
    if (inFlight < state.inFlight) {
      state.previousProgressAt = state.progressAt;
      state.progressAt = this.#now();
    } else if (state.inFlight === 0 && inFlight > 0) {
      state.progressAt = this.#now();
    }
    state.inFlight = inFlight;
  }

  observe(backend: Backend, outcome: Outcome): void {
    const failed = outcome.error !== undefined || (outcome.status !== undefined && outcome.status >= 500);
    const measured = outcome.latencyMs;
    if (!failed && measured === undefined) return;
    const sample = failed ? Math.max(measured ?? 0, this.#options.failurePenaltyMs) : (measured as number);
    const alpha = this.#options.alpha;
    const state = this.#state(backend);
    if (Number.isNaN(state.latency)) state.latency = sample;
    else state.latency += alpha * (sample - state.latency);
    if (!failed) {
      if (Number.isNaN(state.baseline)) state.baseline = sample;
      else state.baseline += (alpha / BASELINE_SLOWDOWN) * (sample - state.baseline);
      if (Number.isNaN(this.#poolLatency)) this.#poolLatency = sample;
      else this.#poolLatency += alpha * (sample - this.#poolLatency);
    }
    if (!Number.isNaN(state.baseline)) {
      const overshoot = Math.max(0, sample - state.baseline);
      state.interference += alpha * (overshoot - state.interference);
    }
  }

  /**
   * The attempt that just closed on `backend` (its `loadChanged` already seen)
   * was a cancelled hedge: not a completion, so the backend's age clock is
   * restored, and no sample is taken.
   */
  ignore(backend: Backend): void {
    const state = this.#states.get(backend);
    if (state) state.progressAt = state.previousProgressAt;
  }

  /** Forgets what was learned about `backend` (it came back from being unready: measure it afresh). */
  reset(backend: Backend): void {
    this.#states.delete(backend);
  }

  #state(backend: Backend): TailState {
    let state = this.#states.get(backend);
    if (!state) {
      const now = this.#now();
      state = {
        latency: Number.NaN,
        baseline: Number.NaN,
        interference: 0,
        inFlight: backend.inFlight,
        progressAt: now,
        previousProgressAt: now,
      };
      this.#states.set(backend, state);
    }
    return state;
  }
}

export interface AdaptiveWeightOptions {
  /** Base weight of interference (where β starts and decays back to). */
  beta: number;
  /** Base weight of age. */
  gamma: number;
  /** p99 to hold, ms; absent: `TAIL_TOLERANCE` × the reference p99 (a slow average of the p99 itself). */
  targetP99Ms?: number | undefined;
}

/** Without a fixed target, a p99 this much above its reference counts as a tail problem. */
export const TAIL_TOLERANCE = 1.25;
/** Weight of each p99 reading in the reference (≈ the last 20 readings). */
export const REFERENCE_WEIGHT = 0.05;
/** Each step above target raises β and γ by this fraction of their base… */
export const ADAPT_STEP = 0.25;
/** …up to this multiple of their base. */
export const ADAPT_CAP = 4;
/** Below the comfort bound they move this fraction of the way back to base per step… */
export const ADAPT_DECAY = 0.2;
/** …which is `COMFORT` × a fixed target… */
export const COMFORT = 0.8;
/** …or, without one, `REFERENCE_COMFORT` × the reference p99 (so a steady tail lets them decay). */
export const REFERENCE_COMFORT = 1.1;

/**
 * β and γ under feedback: each `adapt(p99)` (ALPHA1 calls it every 100
 * samples) compares the observed p99 with the target. Above target both
 * weights rise by 25% of their base, capped at 4× base; below a comfort bound
 * they decay 20% of the way back to base; in between they hold. A base of 0
 * switches its term off for good.
 *
 * The target is `targetP99Ms` when set (an SLO), with comfort at 80% of it.
 * Otherwise it is 1.25 × the reference p99, a slow EWMA of the readings
 * themselves, with comfort at 1.1 × the reference: the weights react to
 * the tail getting worse than it has lately been (a backend slowing, a noisy
 * neighbour arriving), not to the shape of the service's own latency. A
 * multiple of the p50 was tried and rejected: exponential service alone has
 * p99 ≈ 6.6 × p50, a lognormal σ 1.5 one 33×, so such a target pins the
 * weights at their cap on healthy pools, where the lab measured the extra
 * weight as noise that costs p50. A lasting change becomes the new reference
 * after some 20 readings (≈ 2000 samples), and the weights decay back.
 */
export class AdaptiveWeights {
  beta: number;
  gamma: number;
  /** The target used at the last step, ms (NaN before the first). */
  targetP99Ms = Number.NaN;
  /** Slow average of the p99 readings, ms (NaN before the first). */
  referenceP99Ms = Number.NaN;
  readonly #base: AdaptiveWeightOptions;

  constructor(options: AdaptiveWeightOptions) {
    this.#base = options;
    this.beta = options.beta;
    this.gamma = options.gamma;
  }

  get baseBeta(): number {
    return this.#base.beta;
  }

  get baseGamma(): number {
    return this.#base.gamma;
  }

  adapt(p99: number): void {
    if (Number.isNaN(this.referenceP99Ms)) this.referenceP99Ms = p99;
    else this.referenceP99Ms += REFERENCE_WEIGHT * (p99 - this.referenceP99Ms);
    const fixed = this.#base.targetP99Ms;
    const target = fixed ?? TAIL_TOLERANCE * this.referenceP99Ms;
    const comfort = fixed === undefined ? REFERENCE_COMFORT * this.referenceP99Ms : COMFORT * fixed;
    this.targetP99Ms = target;
    const { beta, gamma } = this.#base;
    if (p99 > target) {
      this.beta = Math.min(beta * ADAPT_CAP, this.beta + beta * ADAPT_STEP);
      this.gamma = Math.min(gamma * ADAPT_CAP, this.gamma + gamma * ADAPT_STEP);
    } else if (p99 < comfort) {
      this.beta += (beta - this.beta) * ADAPT_DECAY;
      this.gamma += (gamma - this.gamma) * ADAPT_DECAY;
    }
  }
}

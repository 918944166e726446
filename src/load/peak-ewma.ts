/**
 * Peak-EWMA latency (Finagle, linkerd, tower `load::PeakEwma`): a moving
 * average of response time that jumps straight up to a slower sample and
 * decays toward faster ones with time constant `decayMs`, multiplied by the
 * work in flight. A backend that turns slow is avoided at once and forgiven
 * gradually; an unmeasured one starts at `defaultRttMs` so it is tried early.
 */
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import type { LoadMetric } from "./load-metric.js";

export interface PeakEwmaOptions {
  /** Time constant of the decay toward faster samples, ms. */
  decayMs: number;
  /** Estimate for a backend with no sample yet, ms. */
  defaultRttMs: number;
  /** Penalty estimate for a failed attempt (no usable latency), ms. */
  failurePenaltyMs: number;
}

interface Estimate {
  rttMs: number;
  at: number;
}

export class PeakEwmaLoad implements LoadMetric {
  readonly name = "peak-ewma";
  #estimates = new WeakMap<Backend, Estimate>();
  #options: PeakEwmaOptions;
  #now: () => number;

  constructor(options: PeakEwmaOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
  }

  /** The round-trip estimate for `backend`, ms. */
  rtt(backend: Backend): number {
    return this.#estimates.get(backend)?.rttMs ?? this.#options.defaultRttMs;
  }

  load(backend: Backend): number {
    if (backend.weight === 0) return Number.POSITIVE_INFINITY;
    return (this.rtt(backend) * (backend.inFlight + 1)) / backend.weight;
  }

  observe(backend: Backend, outcome: Outcome): void {
    const sample = outcome.error !== undefined ? this.#options.failurePenaltyMs : outcome.latencyMs;
    if (sample === undefined) return;
    const now = this.#now();
    const estimate = this.#estimates.get(backend);
    if (!estimate) {
      this.#estimates.set(backend, { rttMs: sample, at: now });
      return;
    }
    // A slower sample is taken whole (the peak); a faster one pulls the estimate
    // toward it, more the longer it has been since the last sample.
    const keep = Math.exp(-Math.max(0, now - estimate.at) / this.#options.decayMs);
    estimate.rttMs = sample > estimate.rttMs ? sample : estimate.rttMs * keep + sample * (1 - keep);
    estimate.at = now;
  }
}

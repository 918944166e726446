/**
 * Response-latency EWMA (DWCP's least-latency, α default 0.2): each
 * sample moves the estimate by α of the difference; a failed attempt counts as
 * `failurePenaltyMs`. The load is the estimate times the work in flight + 1
 * (NGINX's least_time weighs active connections the same way): latency alone
 * would send every request to the one fastest backend until it slows down,
 * a herd the simulator shows clearly. A backend with no sample yet has
 * load 0, so new backends are measured before being judged.
 */
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import type { LoadMetric } from "./load-metric.js";

export interface EwmaLatencyOptions {
  alpha: number;
  failurePenaltyMs: number;
}

export class EwmaLatencyLoad implements LoadMetric {
  readonly name = "ewma-latency";
  #estimates = new WeakMap<Backend, number>();
  #options: EwmaLatencyOptions;

  constructor(options: EwmaLatencyOptions) {
    this.#options = options;
  }

  /** The latency estimate alone, ms (0 before the first sample). */
  latency(backend: Backend): number {
    return this.#estimates.get(backend) ?? 0;
  }

  load(backend: Backend): number {
    return this.latency(backend) * (backend.inFlight + 1);
  }

  observe(backend: Backend, outcome: Outcome): void {
    const sample = outcome.error !== undefined ? this.#options.failurePenaltyMs : outcome.latencyMs;
    if (sample === undefined) return;
    const previous = this.#estimates.get(backend);
    this.#estimates.set(
      backend,
      previous === undefined ? sample : previous + this.#options.alpha * (sample - previous),
    );
  }
}

/**
 * A latency distribution that forgets, in ms, on the core's log histogram
 * (core/log-histogram.ts: within 1/32 of each value, here in µs, so 1 µs to
 * 71 min). Samples fill windows of `halfLife` each and a quantile reads the
 * current window with the one before it, so the distribution describes the
 * last `halfLife` to 2 × `halfLife` samples rather than the whole run, as
 * halving every count each `halfLife` samples would, with whole counts.
 * ALPHA1 reads its p50/p95/p99 here (hedge delay, adaptive β/γ).
 */
import { type LogHistogram, quantileOf, WindowedHistogram } from "../core/log-histogram.js";

const MICROS_PER_MS = 1000;

export class LatencyHistogram {
  readonly halfLife: number;
  /** Windows numbered by samples / halfLife; the lifetime count is `samples`. */
  readonly #windows = new WindowedHistogram();

  /** @param halfLife samples per window: older samples are dropped after one to two of these. */
  constructor(halfLife = 1000) {
    if (!(Number.isInteger(halfLife) && halfLife > 0))
      throw new RangeError("halfLife must be a positive integer");
    this.halfLife = halfLife;
  }

  /** Samples recorded since creation (including forgotten ones). */
  get samples(): number {
    return this.#windows.count;
  }

  /** Samples the quantiles currently read: from `halfLife` to 2 × `halfLife` once warm. */
  get weight(): number {
    let weight = 0;
    for (const window of this.#recent()) weight += window.count;
    return weight;
  }

  record(latencyMs: number): void {
    if (!(latencyMs >= 0)) return;
    const windows = this.#windows;
    windows.record(latencyMs * MICROS_PER_MS);
    windows.rotate(this.#epoch());
  }

  /** The latency at quantile `q` in [0, 1] of the recent samples, ms; undefined before the first sample. */
  quantile(q: number): number | undefined {
    const micros = quantileOf(this.#recent(), q);
    return Number.isNaN(micros) ? undefined : micros / MICROS_PER_MS;
  }

  #epoch(): number {
    return Math.floor(this.#windows.count / this.halfLife);
  }

  #recent(): LogHistogram[] {
    return this.#windows.recent(this.#epoch());
  }
}

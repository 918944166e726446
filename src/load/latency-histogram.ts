/**
 * A latency distribution that forgets: log-spaced buckets (each 4% wider than
 * the one before, 10 µs to ~17 min), so a sample costs one logarithm and one
 * increment whatever the scale, and a quantile is one pass over ~500 counters
 * with interpolation inside the bucket (error under 4%). Every `halfLife`
 * samples all counts are halved, so the distribution describes recent traffic
 * (the last few thousand samples) rather than the whole run; HdrHistogram with
 * decay, minus the precision we do not need. ALPHA1 reads its p50/p95/p99 here
 * (hedge delay, adaptive β/γ).
 */

const MIN_MS = 0.01;
const GROWTH = 1.04;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e6 / MIN_MS) / LOG_GROWTH) + 1;

export class LatencyHistogram {
  readonly halfLife: number;
  #counts = new Float64Array(BUCKETS);
  #total = 0;
  #samples = 0;
  #sinceHalving = 0;

  /** @param halfLife samples after which older samples weigh half as much. */
  constructor(halfLife = 1000) {
    if (!(Number.isInteger(halfLife) && halfLife > 0))
      throw new RangeError("halfLife must be a positive integer");
    this.halfLife = halfLife;
  }

  /** Samples recorded since creation (not decayed). */
  get samples(): number {
    return this.#samples;
  }

  /** Decayed weight of the samples currently held. */
  get weight(): number {
    return this.#total;
  }

  record(latencyMs: number): void {
    if (!(latencyMs >= 0)) return;
    const index =
      latencyMs <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(latencyMs / MIN_MS) / LOG_GROWTH));
    this.#counts[index] = (this.#counts[index] as number) + 1;
    this.#total++;
    this.#samples++;
    if (++this.#sinceHalving >= this.halfLife) this.#halve();
  }

  /** The latency at quantile `q` in [0, 1] of the recent samples, ms; undefined before the first sample. */
  quantile(q: number): number | undefined {
    if (this.#total === 0) return undefined;
    const target = Math.min(1, Math.max(0, q)) * this.#total;
    const counts = this.#counts;
    let below = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const count = counts[i] as number;
      if (count > 0 && below + count >= target) {
        const low = i === 0 ? 0 : MIN_MS * GROWTH ** i;
        const high = MIN_MS * GROWTH ** (i + 1);
        return low + (high - low) * ((target - below) / count);
      }
      below += count;
    }
    return MIN_MS * GROWTH ** BUCKETS;
  }

  #halve(): void {
    this.#sinceHalving = 0;
    const counts = this.#counts;
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const half = (counts[i] as number) / 2;
      counts[i] = half;
      total += half;
    }
    this.#total = total;
  }
}

/**
 * Response latencies counted into fixed buckets over the process's life, for
 * the Prometheus histograms: unlike the log histograms' recent quantiles,
 * fixed-bound counts add up across workers and instances, and
 * `histogram_quantile()` reads any quantile from them over any range. The
 * bounds run from 0.5 ms (a proxy on the same host) to 10 s (a timeout).
 * Recording is a walk over 14 bounds and one store: no allocation.
 */

/** Upper bounds in ms; a latency equal to a bound counts in that bound's bucket (`le`). */
const BOUNDS_MS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

/** The same bounds in seconds, the `le` labels of the histograms. */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = BOUNDS_MS.map((ms) => ms / 1000);

/** The bucket of a latency in ms: the first bound not below it, or the one past the last bound. */
export function latencyBucket(ms: number): number {
  let index = 0;
  while (index < BOUNDS_MS.length && ms > (BOUNDS_MS[index] as number)) index++;
  return index;
}

export class LatencyBuckets {
  /** Count per bucket, not cumulative; the last counts latencies above every bound. */
  readonly #counts = new Float64Array(BOUNDS_MS.length + 1);

  add(bucket: number): void {
    this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
  }

  /** Cumulative counts, one per bound and then the total (`le="+Inf"`), as Prometheus expects. */
  cumulative(): number[] {
    let total = 0;
    return Array.from(this.#counts, (count) => {
      total += count;
      return total;
    });
  }
}

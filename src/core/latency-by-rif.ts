/**
 * A server's latency estimate for load probes (see probe.ts), as Prequal
 * keeps it: recent latencies filed by the requests in flight (RIF) when each
 * request arrived, and the estimate for a new request is the median of those
 * filed under the RIF it would arrive at. A plain recent median would go
 * stale on an idle server (still showing the latency of the queue it just
 * drained) and keep traffic away from exactly the backend that is free.
 * An empty RIF is answered from the nearest one that has samples. A server
 * idle for `horizonMs` (nothing in flight, nothing answered) forgets them
 * all and answers 0, as before its first sample: one that was slow and then
 * left alone would otherwise report its old latency for good, and nobody
 * would send it the requests that show it has recovered. The demo backend
 * and the simulator's backends keep one each.
 */
/** RIFs filed apart; higher ones share the last bucket. */
const BUCKETS = 64;
/** Latencies kept per bucket, newest replacing oldest. */
const PER_BUCKET = 8;

/**
 * Idle time after which the latencies are forgotten, ms. In the lab 1 s and
 * 2 s read alike (slowdown p99 0.78x P2C over 20 seeds, up to 0.81 and
 * 0.84); 5 s brought the slowed backend back later (up to 0.84).
 */
export const DEFAULT_LATENCY_HORIZON_MS = 1_000;

export class LatencyByRif {
  readonly horizonMs: number;
  /** When the last latency was observed, ms. */
  #lastAt = Number.NEGATIVE_INFINITY;
  #latencies = new Float64Array(BUCKETS * PER_BUCKET);
  #counts = new Uint8Array(BUCKETS);
  #next = new Uint8Array(BUCKETS);
  #sorted = new Float64Array(PER_BUCKET);

  constructor(horizonMs = DEFAULT_LATENCY_HORIZON_MS) {
    this.horizonMs = horizonMs;
  }

  /** A request that arrived with `rif` others in flight was answered after `latencyMs`, at `now` (ms). */
  observe(rif: number, latencyMs: number, now: number): void {
    // Nothing answered for the horizon: the old latencies say nothing about now, this one starts afresh.
    if (now - this.#lastAt > this.horizonMs) {
      this.#counts.fill(0);
      this.#next.fill(0);
    }
    this.#lastAt = now;
    const bucket = bucketOf(rif);
    const next = this.#next[bucket] as number;
    this.#latencies[bucket * PER_BUCKET + next] = latencyMs;
    this.#next[bucket] = (next + 1) % PER_BUCKET;
    if ((this.#counts[bucket] as number) < PER_BUCKET)
      this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
  }

  /**
   * Estimated latency of a request arriving with `rif` in flight at `now`,
   * ms; 0 (unknown) before any sample and when idle for the horizon.
   */
  estimate(rif: number, now: number): number {
    if (rif === 0 && now - this.#lastAt > this.horizonMs) return 0;
    const at = bucketOf(rif);
    for (let distance = 0; distance < BUCKETS; distance++) {
      if (at - distance >= 0 && (this.#counts[at - distance] as number) > 0)
        return this.#median(at - distance);
      if (at + distance < BUCKETS && (this.#counts[at + distance] as number) > 0)
        return this.#median(at + distance);
    }
    return 0;
  }

  #median(bucket: number): number {
    const count = this.#counts[bucket] as number;
    const sorted = this.#sorted.subarray(0, count);
    sorted.set(this.#latencies.subarray(bucket * PER_BUCKET, bucket * PER_BUCKET + count));
    sorted.sort();
    const middle = count >> 1;
    if (count % 2 === 1) return sorted[middle] as number;
    return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  }
}

function bucketOf(rif: number): number {
  return Math.min(BUCKETS - 1, Math.max(0, Math.floor(rif)));
}

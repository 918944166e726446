/**
 * A server's latency estimate for load probes (see probe.ts), as Prequal
 * keeps it: recent latencies filed by the requests in flight (RIF) when each
 * request arrived, and the estimate for a new request is the median of those
 * filed under the RIF it would arrive at. A plain recent median would go
 * stale on an idle server (still showing the latency of the queue it just
 * drained) and keep traffic away from exactly the backend that is free.
 * An empty RIF is answered from the nearest one that has samples. The demo
 * backend and the simulator's backends keep one each.
 */

/** RIFs filed apart; higher ones share the last bucket. */
const BUCKETS = 64;
/** Latencies kept per bucket, newest replacing oldest. */
const PER_BUCKET = 8;

export class LatencyByRif {
  #latencies = new Float64Array(BUCKETS * PER_BUCKET);
  #counts = new Uint8Array(BUCKETS);
  #next = new Uint8Array(BUCKETS);
  #sorted = new Float64Array(PER_BUCKET);

  /** A request that arrived with `rif` others in flight was answered after `latencyMs`. */
  observe(rif: number, latencyMs: number): void {
    const bucket = bucketOf(rif);
    const next = this.#next[bucket] as number;
    this.#latencies[bucket * PER_BUCKET + next] = latencyMs;
    this.#next[bucket] = (next + 1) % PER_BUCKET;
    if ((this.#counts[bucket] as number) < PER_BUCKET)
      this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
  }

  /** Estimated latency of a request arriving with `rif` in flight, ms; 0 before any sample. */
  estimate(rif: number): number {
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

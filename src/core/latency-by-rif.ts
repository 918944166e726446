/**
 * A server's latency estimate for load probes (see probe.ts), as Prequal
 * keeps it: recent latencies filed by the requests in flight (RIF) when each
 * request arrived, and the estimate for a new request is the median of those
 * filed under the RIF it would arrive at. A plain recent median would go
 * stale on an idle server (still showing the latency of the queue it just
 * drained) and keep traffic away from exactly the backend that is free.
 * An empty RIF is answered from the nearest one that has samples.
 *
 * Recent is recent in time too: a latency older than `windowMs` is left out.
 * Without that a RIF's samples lived until a request arrived at that RIF
 * again, and a server the balancers avoid gets none: after a slow spell it
 * went on reporting the slow latencies it last saw and stayed avoided long
 * after it had recovered. With nothing recent at any RIF, an idle server
 * answers 0, as before its first sample: nothing is in the way and it has
 * nothing to go by, so the next request finds out (a few requests, until one
 * shows the RIF above 0). A busy one keeps to the latencies it saw last,
 * which a queue makes a better guess than none. The demo backend and the
 * simulator's backends keep one each.
 */

/** RIFs filed apart; higher ones share the last bucket. */
const BUCKETS = 64;
/** Latencies kept per bucket, newest replacing oldest. */
const PER_BUCKET = 8;
/**
 * Age beyond which a latency is left out, ms. An avoided server that is still
 * slow costs one probing request or a few per window, so the window is long
 * against the gaps between requests (1 to 3 s cost more tail in the lab than
 * they won back), and short against a slow spell's aftermath.
 */
export const DEFAULT_LATENCY_WINDOW_MS = 10_000;

export class LatencyByRif {
  #now: () => number;
  #windowMs: number;
  #latencies = new Float64Array(BUCKETS * PER_BUCKET);
  /** When each latency was observed, on the `now` clock. */
  #times = new Float64Array(BUCKETS * PER_BUCKET);
  #counts = new Uint8Array(BUCKETS);
  #next = new Uint8Array(BUCKETS);
  #kept = new Float64Array(PER_BUCKET);

  /** `now` is the clock latencies are timed on, ms. */
  constructor(now: () => number = () => performance.now(), windowMs = DEFAULT_LATENCY_WINDOW_MS) {
    this.#now = now;
    this.#windowMs = windowMs;
  }

  /** A request that arrived with `rif` others in flight was answered after `latencyMs`. */
  observe(rif: number, latencyMs: number): void {
    const bucket = bucketOf(rif);
    const next = this.#next[bucket] as number;
    this.#latencies[bucket * PER_BUCKET + next] = latencyMs;
    this.#times[bucket * PER_BUCKET + next] = this.#now();
    this.#next[bucket] = (next + 1) % PER_BUCKET;
    if ((this.#counts[bucket] as number) < PER_BUCKET)
      this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
  }

  /** Estimated latency of a request arriving with `rif` in flight, ms; 0 idle without a recent sample. */
  estimate(rif: number): number {
    const recent = this.#nearestMedian(rif, this.#now() - this.#windowMs);
    if (recent >= 0) return recent;
    return rif < 1 ? 0 : Math.max(0, this.#nearestMedian(rif, Number.NEGATIVE_INFINITY));
  }

  /** Median of the samples observed at `since` or later in the nearest bucket that has any; -1 when none does. */
  #nearestMedian(rif: number, since: number): number {
    const at = bucketOf(rif);
    for (let distance = 0; distance < BUCKETS; distance++) {
      const below = at - distance >= 0 ? this.#median(at - distance, since) : -1;
      if (below >= 0) return below;
      const above = at + distance < BUCKETS ? this.#median(at + distance, since) : -1;
      if (above >= 0) return above;
    }
    return -1;
  }

  /** Median of the bucket's samples observed at `since` or later; -1 when there is none. */
  #median(bucket: number, since: number): number {
    let count = 0;
    for (let i = bucket * PER_BUCKET, end = i + (this.#counts[bucket] as number); i < end; i++)
      if ((this.#times[i] as number) >= since) this.#kept[count++] = this.#latencies[i] as number;
    if (count === 0) return -1;
    const sorted = this.#kept.subarray(0, count).sort();
    const middle = count >> 1;
    if (count % 2 === 1) return sorted[middle] as number;
    return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  }
}

function bucketOf(rif: number): number {
  return Math.min(BUCKETS - 1, Math.max(0, Math.floor(rif)));
}

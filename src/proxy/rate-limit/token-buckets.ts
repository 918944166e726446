/**
 * Token buckets by key, in a bounded table. Each bucket holds up to `burst`
 * tokens and refills at `rate` tokens per `periodMs`; a request takes one.
 * The refill is computed from the clock on each take (no timer per key). At
 * `maxKeys` buckets the least recently used one is dropped: a bucket that has
 * refilled is the same as an absent one, so eviction can at worst hand a
 * client one fresh burst, never more than that beyond its rate.
 */
import { LruCache } from "../../geo/lru-cache.js";

export interface TokenBucketSettings {
  /** Tokens added per period. */
  rate: number;
  periodMs: number;
  /** Bucket size: the most requests admitted at once. */
  burst: number;
  /** Buckets kept; the least recently used is dropped beyond it. */
  maxKeys: number;
}

/** One key's bucket: tokens as of `at` (ms on the table's clock). */
interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  readonly burst: number;
  /** Tokens per millisecond. */
  readonly #perMs: number;
  readonly #buckets: LruCache<string, Bucket>;
  readonly #now: () => number;
  /** Tokens left after the last `take` (read right after it: one result, no object per request). */
  #tokens = 0;

  /** `now`: a monotonic clock in ms (performance.now in the proxy, a fake one in tests). */
  constructor(settings: TokenBucketSettings, now: () => number) {
    this.burst = settings.burst;
    this.#perMs = settings.rate / settings.periodMs;
    this.#buckets = new LruCache(settings.maxKeys);
    this.#now = now;
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token from `key`'s bucket; false when it has none (the request is refused). */
  take(key: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      this.#tokens = this.burst - 1;
      this.#buckets.set(key, { tokens: this.#tokens, at: now });
      return true;
    }
    const tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    const admitted = tokens >= 1;
    bucket.tokens = admitted ? tokens - 1 : tokens;
    this.#tokens = bucket.tokens;
    return admitted;
  }

  /** Whole tokens left after the last take. */
  get remaining(): number {
    return Math.floor(this.#tokens);
  }

  /** After the last take: ms until its bucket holds a whole token again (0 when it does). */
  get nextTokenMs(): number {
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.#perMs;
  }

  /** After the last take: ms until its bucket is full again. */
  get fullInMs(): number {
    return (this.burst - this.#tokens) / this.#perMs;
  }
}

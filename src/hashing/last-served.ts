/**
 * Which backends served a key most recently, in a fixed amount of memory:
 * a 4-way set-associative table keyed by the key's 32-bit hash (a CPU cache's
 * layout), least recently used entry evicted within its set. It approximates
 * an LRU map of `capacity` keys with no allocation, no rehashing and no linked
 * list; a key evicted early by a crowded set just reads as a miss next time.
 *
 * Each entry keeps the last two distinct backends (as integer tokens, 0 =
 * none), so a key spread over two replicas, or sent back home after one
 * bounded-load redirect, still counts as served from a warm cache.
 */

const WAYS = 4;

export class LastServedTable {
  readonly capacity: number;
  readonly #sets: number;
  readonly #tags: Int32Array;
  readonly #last: Int32Array;
  readonly #previous: Int32Array;
  readonly #stamps: Float64Array;
  #clock = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#sets = Math.max(1, Math.ceil(capacity / WAYS));
    this.capacity = this.#sets * WAYS;
    this.#tags = new Int32Array(this.capacity);
    this.#last = new Int32Array(this.capacity);
    this.#previous = new Int32Array(this.capacity);
    this.#stamps = new Float64Array(this.capacity);
  }

  /** Keys remembered. */
  get size(): number {
    return this.#size;
  }

  /**
   * Records that backend `token` (> 0) serves `keyHash`; returns whether it
   * was one of the key's last two backends (a cache hit).
   */
  serve(keyHash: number, token: number): boolean {
    const start = ((Math.imul(keyHash, 0x2545f491) >>> 0) % this.#sets) * WAYS;
    const tags = this.#tags;
    const last = this.#last;
    const stamps = this.#stamps;
    let victim = start;
    for (let i = start; i < start + WAYS; i++) {
      const current = last[i] as number;
      if (current === 0) {
        if (last[victim] !== 0) victim = i;
        continue;
      }
      if (tags[i] === keyHash) {
        const hit = current === token || this.#previous[i] === token;
        if (current !== token) {
          this.#previous[i] = current;
          last[i] = token;
        }
        stamps[i] = ++this.#clock;
        return hit;
      }
      if (last[victim] !== 0 && (stamps[i] as number) < (stamps[victim] as number)) victim = i;
    }
    if (last[victim] === 0) this.#size++;
    tags[victim] = keyHash;
    last[victim] = token;
    this.#previous[victim] = 0;
    stamps[victim] = ++this.#clock;
    return false;
  }

  /** The backend token that last served `keyHash`, or 0. */
  lastOf(keyHash: number): number {
    const start = ((Math.imul(keyHash, 0x2545f491) >>> 0) % this.#sets) * WAYS;
    for (let i = start; i < start + WAYS; i++) {
      if (this.#last[i] !== 0 && this.#tags[i] === keyHash) return this.#last[i] as number;
    }
    return 0;
  }
}

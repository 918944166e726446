/**
 * Memoized rendezvous rankings: a key's first few members in HRW order,
 * keyed by the key's 32-bit hash, so a key seen again costs a table lookup
 * instead of an O(n) pass (a cache-routing workload repeats keys by nature).
 * Same layout as `last-served.ts`: 4-way set-associative, LRU within a set,
 * typed arrays only, nothing allocated after construction.
 *
 * A ranking depends only on membership and weights, so entries carry the
 * generation they were computed in and `invalidate()` (on rebuild, or when a
 * warming member's weight steps) retires them all in O(1).
 */

const WAYS = 4;

/** A ranking to store: `count` members, best first. */
export interface RankedMembers {
  readonly count: number;
  at(rank: number): number;
}

export class RankingCache {
  /** Members kept per key. */
  readonly depth: number;
  readonly #sets: number;
  readonly #tags: Int32Array;
  readonly #generations: Int32Array;
  readonly #counts: Uint8Array;
  readonly #stamps: Float64Array;
  readonly #members: Int32Array;
  #generation = 1;
  #clock = 0;

  constructor(capacity: number, depth: number) {
    this.depth = depth;
    this.#sets = Math.max(1, Math.ceil(capacity / WAYS));
    const entries = this.#sets * WAYS;
    this.#tags = new Int32Array(entries);
    this.#generations = new Int32Array(entries);
    this.#counts = new Uint8Array(entries);
    this.#stamps = new Float64Array(entries);
    this.#members = new Int32Array(entries * depth);
  }

  /** Forgets every ranking. */
  invalidate(): void {
    this.#generation = (this.#generation + 1) | 0 || 1;
  }

  /** The entry holding `keyHash`'s ranking, or −1. */
  find(keyHash: number): number {
    const start = this.#start(keyHash);
    const generation = this.#generation;
    for (let entry = start; entry < start + WAYS; entry++) {
      if (this.#generations[entry] === generation && this.#tags[entry] === keyHash) {
        this.#stamps[entry] = ++this.#clock;
        return entry;
      }
    }
    return -1;
  }

  /** Stores the first `depth` of `ranked` as `keyHash`'s ranking; returns the entry. */
  store(keyHash: number, ranked: RankedMembers): number {
    const start = this.#start(keyHash);
    const generation = this.#generation;
    let entry = start;
    for (let candidate = start; candidate < start + WAYS; candidate++) {
      if (this.#generations[candidate] !== generation) {
        entry = candidate;
        break;
      }
      if ((this.#stamps[candidate] as number) < (this.#stamps[entry] as number)) entry = candidate;
    }
    const stored = Math.min(ranked.count, this.depth);
    this.#tags[entry] = keyHash;
    this.#generations[entry] = generation;
    this.#counts[entry] = stored;
    this.#stamps[entry] = ++this.#clock;
    const base = entry * this.depth;
    for (let rank = 0; rank < stored; rank++) this.#members[base + rank] = ranked.at(rank);
    return entry;
  }

  /** Members stored in `entry`. */
  countOf(entry: number): number {
    return this.#counts[entry] as number;
  }

  /** The member ranked `rank` in `entry`. */
  memberOf(entry: number, rank: number): number {
    return this.#members[entry * this.depth + rank] as number;
  }

  #start(keyHash: number): number {
    return ((Math.imul(keyHash, 0x2545f491) >>> 0) % this.#sets) * WAYS;
  }
}

/**
 * Partial rendezvous (HRW) ranking over a fixed member set: one pass finds a
 * key's K highest-scoring members that pass a filter, and the best member
 * that also passes a second, stricter test, without sorting all of them and
 * without allocating. The order is exactly `rendezvousScore`'s (weighted HRW
 * by the logarithmic method, `weight / −ln(u)`), ties broken by the pair
 * hash, so it does not depend on the order members were given in.
 *
 * A logarithm costs more than everything else a member needs, so the pass
 * avoids it: among members of equal weight the score grows with the pair
 * hash, so members are grouped by weight (up to 16 weight classes, the most
 * common weights) and each class keeps its own top K by integer comparison;
 * a member below its class's K-th hash is dismissed after one hash and one
 * compare. Only at the end are the class leaders scored and merged (about
 * classes + K logarithms, none with a single class). Members outside the
 * classes (rare weights, or warming up at a lowered weight) are scored
 * exactly as they are met. The scan is O(n) integer work per key: a few
 * nanoseconds a member.
 */
import { type HashFunction, mix32 } from "./hash-functions.js";
import { rendezvousMemberHash } from "./rendezvous.js";

const TWO_TO_32 = 4294967296;
/** Flipping the sign bit maps unsigned order onto signed order, keeping hashes int32. */
const SIGN_BIT = -2147483648;
const MAX_CLASSES = 16;
/** Class of a member scored exactly with a logarithm. */
const EXACT = 255;
/** No threshold: every hash passes. */
const ANY = -2147483648;

/** Which members count, asked only for members whose hash could place them in the result. */
export interface RankingFilter {
  /** May the member be ranked at all (the pick's `accept` takes it)? */
  eligible(index: number): boolean;
  /** Does an eligible member pass the stricter test (under its load bound)? */
  preferred(index: number): boolean;
}

export class RendezvousRanking {
  /** Ranked members found by the last `scan`, best first, at most its `k`. */
  count = 0;
  /** The best eligible and preferred member of the last `scan`, or −1. */
  preferred = -1;

  readonly #capacity: number;
  #size = 0;
  #keyHash = 0;
  #salts = new Int32Array(0);
  /** Per member: its weight class, EXACT while its weight differs from the class weight. */
  #classes = new Uint8Array(0);
  #baseClasses = new Uint8Array(0);
  #weights = new Float64Array(0);
  #classWeights = new Float64Array(0);
  // Per class c: top K by hash at [c × K, c × K + count), its entry threshold, its best preferred.
  #classCount = new Int32Array(0);
  #classThreshold = new Int32Array(0);
  #classIndex = new Int32Array(0);
  #classHash = new Int32Array(0);
  #classPreferred = new Int32Array(0);
  #classPreferredHash = new Int32Array(0);
  /** Merge cursors and the score of each class's current head. */
  #cursor = new Int32Array(0);
  #headScore = new Float64Array(0);
  /** Each class's best member's score, when the last merge computed them. */
  #leaderScore = new Float64Array(0);
  #leadersScored = false;
  // Exactly scored members: top K by score, and the best preferred.
  readonly #exactIndex: Int32Array;
  readonly #exactScore: Float64Array;
  readonly #exactHash: Int32Array;
  #exactCount = 0;
  #exactPreferred = -1;
  /** The exact preferred member's score and hash (typed arrays: a double kept in a field may be boxed). */
  readonly #exactPreferredKey = new Float64Array(2);
  /** The result, best first. */
  readonly #top: Int32Array;

  /** `capacity`: the largest `k` a scan will be asked for. */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
    this.#exactIndex = new Int32Array(this.#capacity);
    this.#exactScore = new Float64Array(this.#capacity);
    this.#exactHash = new Int32Array(this.#capacity);
    this.#top = new Int32Array(this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Replaces the members: ids (hashed with `hash`) and base weights, index-aligned. */
  setMembers(ids: readonly string[], weights: readonly number[], hash: HashFunction): void {
    const size = ids.length;
    const clean = weights.map(nonNegative);
    const frequency = new Map<number, number>();
    for (const weight of clean) frequency.set(weight, (frequency.get(weight) ?? 0) + 1);
    const classWeights = [...frequency.keys()]
      .sort((a, b) => (frequency.get(b) as number) - (frequency.get(a) as number) || a - b)
      .slice(0, MAX_CLASSES);
    const classes = classWeights.length;
    const k = this.#capacity;
    this.#size = size;
    this.#salts = new Int32Array(size);
    this.#weights = Float64Array.from(clean);
    this.#baseClasses = new Uint8Array(size);
    this.#classWeights = Float64Array.from(classWeights);
    this.#classCount = new Int32Array(classes);
    this.#classThreshold = new Int32Array(classes);
    this.#classIndex = new Int32Array(classes * k);
    this.#classHash = new Int32Array(classes * k);
    this.#classPreferred = new Int32Array(classes);
    this.#classPreferredHash = new Int32Array(classes);
    this.#cursor = new Int32Array(classes);
    this.#headScore = new Float64Array(classes);
    this.#leaderScore = new Float64Array(classes);
    for (let i = 0; i < size; i++) {
      // The same pair hash as `rendezvousHash`, with the member's half mixed once here.
      this.#salts[i] = mix32((rendezvousMemberHash(ids[i] as string, hash) + 0x9e3779b9) | 0) | 0;
      const c = classWeights.indexOf(clean[i] as number);
      this.#baseClasses[i] = c >= 0 ? c : EXACT;
    }
    this.#classes = this.#baseClasses.slice();
  }

  /** Changes a member's weight (warm-up); its base weight is restored with `setWeight(i, base)`. */
  setWeight(index: number, weight: number): void {
    const clean = nonNegative(weight);
    this.#weights[index] = clean;
    const base = this.#baseClasses[index] as number;
    this.#classes[index] = base !== EXACT && this.#classWeights[base] === clean ? base : EXACT;
  }

  weightOf(index: number): number {
    return this.#weights[index] ?? 0;
  }

  /** The member ranked `rank` (0 = best) by the last scan. */
  at(rank: number): number {
    return this.#top[rank] ?? -1;
  }

  /**
   * Ranks members for `keyHash`: afterwards `at(0 … count − 1)` are the `k`
   * best eligible members and, with `withPreferred`, `preferred` is the best
   * eligible member passing `filter.preferred`. Returns `count`.
   */
  scan(keyHash: number, k: number, filter: RankingFilter, withPreferred: boolean): number {
    const size = this.#size;
    const salts = this.#salts;
    const classes = this.#classes;
    const classCount = this.#classCount;
    const threshold = this.#classThreshold;
    const classIndex = this.#classIndex;
    const classHash = this.#classHash;
    const classPreferred = this.#classPreferred;
    const classPreferredHash = this.#classPreferredHash;
    const stride = this.#capacity;
    const limit = Math.min(Math.max(1, k), stride);
    for (let c = 0; c < classCount.length; c++) {
      // A loop, not three `fill` calls: cheaper for the handful of classes there are.
      classCount[c] = 0;
      threshold[c] = ANY;
      classPreferred[c] = -1;
    }
    this.#keyHash = keyHash;
    this.#exactCount = 0;
    this.#exactPreferred = -1;
    for (let i = 0; i < size; i++) {
      // mixSigned(keyHash ^ salt), inlined: this loop is the whole cost of a pass.
      let pair = keyHash ^ (salts[i] as number);
      pair = Math.imul(pair ^ (pair >>> 16), 0x85ebca6b);
      pair = Math.imul(pair ^ (pair >>> 13), 0xc2b2ae35);
      pair ^= pair >>> 16;
      const ordered = pair ^ SIGN_BIT;
      const c = classes[i] as number;
      if (c === EXACT) {
        if (filter.eligible(i)) this.#offerExact(i, pair, limit, filter, withPreferred);
        continue;
      }
      if (ordered < (threshold[c] as number) || !filter.eligible(i)) continue;
      const base = c * stride;
      let count = classCount[c] as number;
      if (count < limit || ordered > (classHash[base + limit - 1] as number)) {
        // Insertion into the class's list, highest hash first.
        let at = count < limit ? count++ : limit - 1;
        while (at > 0 && ordered > (classHash[base + at - 1] as number)) {
          classIndex[base + at] = classIndex[base + at - 1] as number;
          classHash[base + at] = classHash[base + at - 1] as number;
          at--;
        }
        classIndex[base + at] = i;
        classHash[base + at] = ordered;
        classCount[c] = count;
      }
      if (
        withPreferred &&
        (classPreferred[c] === -1 || ordered > (classPreferredHash[c] as number)) &&
        filter.preferred(i)
      ) {
        classPreferred[c] = i;
        classPreferredHash[c] = ordered;
      }
      if (count === limit && (!withPreferred || classPreferred[c] !== -1)) {
        const kth = classHash[base + limit - 1] as number;
        const best = withPreferred ? (classPreferredHash[c] as number) : kth;
        threshold[c] = Math.min(best, kth);
      }
    }
    this.count = this.#merge(limit);
    this.preferred = withPreferred ? this.#bestPreferred() : -1;
    return this.count;
  }

  /** Merges the class lists and the exact list into the top `limit`, scoring only heads. */
  #merge(limit: number): number {
    const classes = this.#classWeights.length;
    const classCount = this.#classCount;
    const classIndex = this.#classIndex;
    const classHash = this.#classHash;
    const stride = this.#capacity;
    let sources = this.#exactCount > 0 ? 1 : 0;
    let only = -1;
    for (let c = 0; c < classes; c++) {
      if ((classCount[c] as number) > 0) {
        sources++;
        only = c;
      }
    }
    const top = this.#top;
    this.#leadersScored = false;
    if (sources === 0) return 0;
    if (sources === 1 && only >= 0) {
      // One class: hash order is score order, no logarithm needed.
      const count = classCount[only] as number;
      for (let r = 0; r < count; r++) top[r] = classIndex[only * stride + r] as number;
      return count;
    }
    const cursor = this.#cursor;
    const headScore = this.#headScore;
    const leaderScore = this.#leaderScore;
    for (let c = 0; c < classes; c++) {
      cursor[c] = 0;
      if ((classCount[c] as number) > 0) {
        headScore[c] = this.#score(classIndex[c * stride] as number);
        leaderScore[c] = headScore[c] as number;
      }
    }
    this.#leadersScored = true;
    let exact = 0;
    let count = 0;
    while (count < limit) {
      let source = -2;
      let bestScore = -1;
      let bestHash = 0;
      for (let c = 0; c < classes; c++) {
        const r = cursor[c] as number;
        if (r >= (classCount[c] as number)) continue;
        const score = headScore[c] as number;
        const hash = classHash[c * stride + r] as number;
        if (source === -2 || isAbove(score, hash, bestScore, bestHash)) {
          source = c;
          bestScore = score;
          bestHash = hash;
        }
      }
      if (exact < this.#exactCount) {
        const score = this.#exactScore[exact] as number;
        const hash = this.#exactHash[exact] as number;
        if (source === -2 || isAbove(score, hash, bestScore, bestHash)) source = -1;
      }
      if (source === -2) break;
      if (source === -1) {
        top[count++] = this.#exactIndex[exact++] as number;
        continue;
      }
      const r = (cursor[source] as number) + 1;
      top[count++] = classIndex[source * stride + r - 1] as number;
      cursor[source] = r;
      if (count < limit && r < (classCount[source] as number)) {
        headScore[source] = this.#score(classIndex[source * stride + r] as number);
      }
    }
    return count;
  }

  /** The best of the classes' and the exact list's preferred members. */
  #bestPreferred(): number {
    const classes = this.#classWeights.length;
    const classPreferred = this.#classPreferred;
    let sources = this.#exactPreferred >= 0 ? 1 : 0;
    let only = this.#exactPreferred;
    for (let c = 0; c < classes; c++) {
      if ((classPreferred[c] as number) >= 0) {
        sources++;
        only = classPreferred[c] as number;
      }
    }
    if (sources <= 1) return only;
    let best = this.#exactPreferred;
    let bestScore = this.#exactPreferredKey[0] as number;
    let bestHash = this.#exactPreferredKey[1] as number;
    for (let c = 0; c < classes; c++) {
      const i = classPreferred[c] as number;
      if (i < 0) continue;
      const hash = this.#classPreferredHash[c] as number;
      // A class's preferred member is often its leader, already scored by the merge.
      const leader = this.#leadersScored && i === this.#classIndex[c * this.#capacity];
      const score = leader ? (this.#leaderScore[c] as number) : this.#score(i);
      if (best < 0 || isAbove(score, hash, bestScore, bestHash)) {
        best = i;
        bestScore = score;
        bestHash = hash;
      }
    }
    return best;
  }

  /** A member of no class: scored now, kept if it makes the exact top list or is the best preferred. */
  #offerExact(i: number, pair: number, limit: number, filter: RankingFilter, withPreferred: boolean): void {
    const weight = this.#weights[i] as number;
    const score = weight > 0 ? weight / -Math.log(((pair >>> 0) + 0.5) / TWO_TO_32) : 0;
    const ordered = pair ^ SIGN_BIT;
    const index = this.#exactIndex;
    const scores = this.#exactScore;
    const hashes = this.#exactHash;
    const count = this.#exactCount;
    if (count < limit || isAbove(score, ordered, scores[limit - 1] as number, hashes[limit - 1] as number)) {
      let at = count < limit ? count : limit - 1;
      while (at > 0 && isAbove(score, ordered, scores[at - 1] as number, hashes[at - 1] as number)) {
        index[at] = index[at - 1] as number;
        scores[at] = scores[at - 1] as number;
        hashes[at] = hashes[at - 1] as number;
        at--;
      }
      index[at] = i;
      scores[at] = score;
      hashes[at] = ordered;
      if (count < limit) this.#exactCount = count + 1;
    }
    if (
      withPreferred &&
      (this.#exactPreferred < 0 ||
        isAbove(
          score,
          ordered,
          this.#exactPreferredKey[0] as number,
          this.#exactPreferredKey[1] as number,
        )) &&
      filter.preferred(i)
    ) {
      this.#exactPreferred = i;
      this.#exactPreferredKey[0] = score;
      this.#exactPreferredKey[1] = ordered;
    }
  }

  /** A member's score for the last scanned key (recomputed from its pair hash). */
  #score(i: number): number {
    const weight = this.#weights[i] as number;
    if (!(weight > 0)) return 0;
    let pair = this.#keyHash ^ (this.#salts[i] as number);
    pair = Math.imul(pair ^ (pair >>> 16), 0x85ebca6b);
    pair = Math.imul(pair ^ (pair >>> 13), 0xc2b2ae35);
    pair ^= pair >>> 16;
    return weight / -Math.log(((pair >>> 0) + 0.5) / TWO_TO_32);
  }
}

/** A weight as scored: negative or NaN counts as 0. */
function nonNegative(weight: number): number {
  return Math.max(0, weight) || 0;
}

/** Strictly better in HRW order: higher score, then higher pair hash. */
function isAbove(score: number, ordered: number, otherScore: number, otherOrdered: number): boolean {
  return score > otherScore || (score === otherScore && ordered > otherOrdered);
}

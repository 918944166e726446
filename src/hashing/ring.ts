/**
 * Consistent-hash ring with virtual nodes (Karger et al., STOC 1997; the
 * ketama layout): each member owns `round(virtualNodes × weight)` points at
 * `mixSigned(hash("<id>#<i>"))`, and a key belongs to the first point at or
 * clockwise after its position (with several probes, after the nearest of its
 * positions; see below). Positions depend on the member's id only,
 * so every instance that sees the same members builds the same ring, whatever
 * the order; equal points are ordered by id for the same reason.
 *
 * Layout: a sorted `Int32Array` of points and a parallel `Int32Array` of
 * member slots, 8 bytes a point (1000 members × 150 points ≈ 1.2 MB), plus a
 * bucket index over the top 16 bits of the hash space (256 KB at most), so a
 * lookup is one index read and a binary search over a couple of points.
 * Positions are signed 32-bit integers (the ring runs from −2^31 up to
 * 2^31 − 1 and wraps), which V8 keeps unboxed.
 *
 * Adding or removing one member merges or filters the arrays in one pass
 * (O(points), no re-sort and no re-hashing of the others); a new pair of
 * arrays replaces the old, so a lookup never sees a half-made ring. A
 * member's points are a prefix-stable sequence, so raising a weight only adds
 * points. When weights would put more than MAX_POINTS on the ring, every
 * count is divided by the smallest power of two that fits, and the ring is
 * rebuilt whole.
 *
 * Lookups are multi-probe (Appleton & O'Reilly, "Multi-probe consistent
 * hashing", arXiv:1505.00062, 2015): a key probes `probes` positions (its own
 * and re-mixes of it) and goes to the point nearest clockwise after any of
 * them. A member's share is then less sensitive to the size of the arcs
 * before its points: at 150 points per member the coefficient of variation
 * of the shares drops from ~8.5% (1 probe, the classic ring: 1/sqrt(150)) to
 * ~3.5% with 3 probes, for 3 lookups' work. Removing a member only lengthens some probes'
 * distances, so only its own keys move; adding one only shortens distances
 * to its points, so keys move only onto it.
 *
 * `find` takes the nearest point over the probes; when a predicate rejects
 * its member, each probe walks on clockwise to the first member the
 * predicate accepts (visiting each member once) and the nearest of those
 * wins. So failover goes exactly where the key would go if the rejected
 * members left the ring, and gives up after every member has been seen.
 *
 * Over 400 lines because placement, lookup and the failover walk share the
 * sorted point arrays and must agree on them exactly.
 */
import { type HashFunction, mixSigned } from "./hash-functions.js";

export interface RingMember {
  readonly id: string;
  readonly weight: number;
}

/** Points per unit of weight (DWCP). */
export const DEFAULT_VIRTUAL_NODES = 150;
/** Above this many points the per-member counts are scaled down (a ring of 32 MB). */
export const MAX_POINTS = 1 << 22;
/** Probes per lookup: spread within 5% at 150 points per member (see above). */
export const DEFAULT_PROBES = 3;
/** Most probes per lookup; past ~20 the spread no longer improves at 150 points. */
export const MAX_PROBES = 32;
/** Past this many membership changes at once, a full rebuild beats merging one by one. */
const INCREMENTAL_LIMIT = 8;

export interface HashRingOptions {
  hash: HashFunction;
  /** Points per unit of weight; default 150. */
  virtualNodes?: number;
  /** Most points before counts are scaled down; default MAX_POINTS. */
  maxPoints?: number;
  /** Positions probed per lookup, 1 to MAX_PROBES; default 3. 1 is the classic ring. */
  probes?: number;
}

export class HashRing<T extends RingMember> {
  readonly virtualNodes: number;
  readonly maxPoints: number;
  readonly probes: number;
  readonly #hash: HashFunction;
  #points: Int32Array = new Int32Array(0);
  #owners: Int32Array = new Int32Array(0);
  /** slot → member; undefined for a free slot. */
  #members: (T | undefined)[] = [];
  /** slot → weight the member's points were made for. */
  #weights: number[] = [];
  #slotOf = new Map<T, number>();
  #freeSlots: number[] = [];
  /** Point counts are divided by this power of two when the ring would be too large. */
  #scale = 1;
  /** buckets[b] = index of the first point ≥ b << bucketShift: narrows a lookup to a few points. */
  #buckets = new Uint32Array(0);
  #bucketShift = 31;
  #seen = new Uint32Array(0);
  #stamp = 0;
  /** Per probe of the lookup in progress: its position and its point's index (scratch, so lookups allocate nothing). */
  readonly #probeFroms: Int32Array;
  readonly #probeIndexes: Int32Array;

  constructor(options: HashRingOptions) {
    this.#hash = options.hash;
    this.virtualNodes = options.virtualNodes ?? DEFAULT_VIRTUAL_NODES;
    this.maxPoints = options.maxPoints ?? MAX_POINTS;
    this.probes = options.probes ?? DEFAULT_PROBES;
    if (!Number.isInteger(this.probes) || this.probes < 1 || this.probes > MAX_PROBES) {
      throw new RangeError(`probes must be an integer from 1 to ${MAX_PROBES}, got ${options.probes}`);
    }
    this.#probeFroms = new Int32Array(this.probes);
    this.#probeIndexes = new Int32Array(this.probes);
  }

  /** Members on the ring (members of weight 0 have no points and are not on it). */
  get size(): number {
    return this.#slotOf.size;
  }

  get pointCount(): number {
    return this.#points.length;
  }

  /** Bytes held by the ring's arrays. */
  get byteLength(): number {
    return (
      this.#points.byteLength + this.#owners.byteLength + this.#buckets.byteLength + this.#seen.byteLength
    );
  }

  has(member: T): boolean {
    return this.#slotOf.has(member);
  }

  members(): T[] {
    return [...this.#slotOf.keys()];
  }

  /** Points `member` holds now. */
  pointsOf(member: T): number {
    const slot = this.#slotOf.get(member);
    return slot === undefined ? 0 : this.#count(this.#weights[slot] as number);
  }

  /**
   * Makes the ring hold exactly `members` at their current weights: removes
   * the missing, adds the new, re-places members whose weight changed. One or
   * a few changes merge incrementally; more rebuild.
   */
  sync(members: readonly T[]): void {
    const wanted = new Set<T>();
    for (const member of members) if (member.weight > 0) wanted.add(member);
    const stale: T[] = [];
    for (const [member, slot] of this.#slotOf) {
      if (!wanted.has(member) || this.#weights[slot] !== member.weight) stale.push(member);
    }
    const fresh: T[] = [];
    for (const member of wanted) {
      const slot = this.#slotOf.get(member);
      if (slot === undefined || this.#weights[slot] !== member.weight) fresh.push(member);
    }
    if (stale.length + fresh.length > INCREMENTAL_LIMIT) {
      this.reset([...wanted]);
      return;
    }
    for (const member of stale) this.remove(member);
    for (const member of fresh) this.add(member);
  }

  /** Rebuilds the ring from scratch with `members`. */
  reset(members: readonly T[]): void {
    const list = [...new Set(members)].filter((member) => member.weight > 0);
    list.sort((a, b) => compareIds(a.id, b.id));
    this.#members = list.slice();
    this.#weights = list.map((member) => member.weight);
    this.#slotOf = new Map(list.map((member, slot) => [member, slot]));
    this.#freeSlots = [];
    this.#scale = 1;
    while (totalPoints(list, this.virtualNodes, this.#scale) > this.maxPoints) this.#scale *= 2;
    const total = totalPoints(list, this.virtualNodes, this.#scale);
    // Sort (point, rank) pairs packed in one float: point × 2^21 + rank stays below 2^53,
    // and ranks follow id order, so equal points order by id.
    if (list.length >= RANK_LIMIT) throw new RangeError(`a ring holds at most ${RANK_LIMIT - 1} members`);
    const keys = new Float64Array(total);
    let at = 0;
    list.forEach((member, rank) => {
      for (const point of this.#pointsFor(member)) keys[at++] = point * RANK_LIMIT + rank;
    });
    keys.sort();
    const points = new Int32Array(total);
    const owners = new Int32Array(total);
    for (let i = 0; i < total; i++) {
      const key = keys[i] as number;
      const point = Math.floor(key / RANK_LIMIT);
      points[i] = point;
      owners[i] = key - point * RANK_LIMIT;
    }
    this.#install(points, owners);
  }

  /** Adds one member's points by merging them into the ring. */
  add(member: T): void {
    if (member.weight <= 0) return;
    if (this.#slotOf.has(member)) this.remove(member);
    if (this.#points.length + this.#count(member.weight) > this.maxPoints) {
      this.reset([...this.#slotOf.keys(), member]);
      return;
    }
    const slot = this.#freeSlots.pop() ?? this.#members.length;
    this.#members[slot] = member;
    this.#weights[slot] = member.weight;
    this.#slotOf.set(member, slot);
    const incoming = this.#pointsFor(member).sort();
    const oldPoints = this.#points;
    const oldOwners = this.#owners;
    const points = new Int32Array(oldPoints.length + incoming.length);
    const owners = new Int32Array(points.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < oldPoints.length && j < incoming.length) {
      const existing = oldPoints[i] as number;
      const added = incoming[j] as number;
      const addedFirst =
        added < existing ||
        (added === existing && compareIds(member.id, (this.#members[oldOwners[i] as number] as T).id) < 0);
      if (addedFirst) {
        points[k] = added;
        owners[k++] = slot;
        j++;
      } else {
        points[k] = existing;
        owners[k++] = oldOwners[i++] as number;
      }
    }
    for (; i < oldPoints.length; i++, k++) {
      points[k] = oldPoints[i] as number;
      owners[k] = oldOwners[i] as number;
    }
    for (; j < incoming.length; j++, k++) {
      points[k] = incoming[j] as number;
      owners[k] = slot;
    }
    this.#install(points, owners);
  }

  /** Removes one member's points; the rest keep their order. Returns false if absent. */
  remove(member: T): boolean {
    const slot = this.#slotOf.get(member);
    if (slot === undefined) return false;
    const oldPoints = this.#points;
    const oldOwners = this.#owners;
    let kept = 0;
    for (const owner of oldOwners) if (owner !== slot) kept++;
    const points = new Int32Array(kept);
    const owners = new Int32Array(kept);
    for (let i = 0, k = 0; i < oldPoints.length; i++) {
      if (oldOwners[i] === slot) continue;
      points[k] = oldPoints[i] as number;
      owners[k++] = oldOwners[i] as number;
    }
    this.#slotOf.delete(member);
    this.#members[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#install(points, owners);
    // Keep the scale the least that fits, as a fresh build would choose it.
    if (this.#scale > 1) {
      const rest = [...this.#slotOf.keys()];
      if (totalPoints(rest, this.virtualNodes, this.#scale / 2) <= this.maxPoints) this.reset(rest);
    }
    return true;
  }

  /** Index of the first point at or clockwise after `position` (wrapping to 0); -1 when empty. */
  locate(position: number): number {
    const points = this.#points;
    if (points.length === 0) return -1;
    const bucket = (position ^ SIGN_BIT) >>> this.#bucketShift;
    let low = this.#buckets[bucket] as number;
    let high = this.#buckets[bucket + 1] as number;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((points[mid] as number) < position) low = mid + 1;
      else high = mid;
    }
    return low === points.length ? 0 : low;
  }

  /** The member owning the point at `index`. */
  ownerAt(index: number): T {
    return this.#members[this.#owners[index] as number] as T;
  }

  /** The member a key at `position` belongs to (ignoring any predicate). */
  lookup(position: number): T | undefined {
    return this.find(position, acceptAny, undefined);
  }

  /**
   * The member a key at `position` goes to among those `accept(member, arg)`
   * takes: the nearest accepted point clockwise after any of the key's
   * probes (ties to the earlier probe); undefined when no member is
   * accepted. `accept` should be a long-lived function so the lookup
   * allocates nothing, and must not look up on this ring (the probes'
   * scratch arrays are shared).
   */
  find<A>(position: number, accept: (member: T, arg: A) => boolean, arg: A): T | undefined {
    const points = this.#points;
    if (points.length === 0) return undefined;
    const froms = this.#probeFroms;
    const indexes = this.#probeIndexes;
    let nearest = 0;
    let nearestDistance = 0;
    for (let probe = 0; probe < froms.length; probe++) {
      const from = probe === 0 ? position : probePosition(position, probe);
      const index = this.locate(from);
      const distance = ((points[index] as number) - from) >>> 0;
      froms[probe] = from;
      indexes[probe] = index;
      if (probe === 0 || distance < nearestDistance) {
        nearest = probe;
        nearestDistance = distance;
      }
    }
    const owner = this.ownerAt(indexes[nearest] as number);
    if (accept(owner, arg)) return owner;
    return this.#failover(nearest, accept, arg);
  }

  /**
   * `find` once the nearest point's owner is rejected: every probe walks on
   * clockwise from its point to its first accepted member and the nearest of
   * those wins (ties to the earlier probe). The probe that found the
   * rejected point goes first; if it finds no one, no member is accepted.
   */
  #failover<A>(nearest: number, accept: (member: T, arg: A) => boolean, arg: A): T | undefined {
    const points = this.#points;
    const froms = this.#probeFroms;
    const indexes = this.#probeIndexes;
    let best = this.#walk(indexes[nearest] as number, true, accept, arg);
    if (best < 0) return undefined;
    let bestProbe = nearest;
    let bestDistance = ((points[best] as number) - (froms[nearest] as number)) >>> 0;
    for (let probe = 0; probe < froms.length; probe++) {
      if (probe === nearest) continue;
      const index = this.#walk(indexes[probe] as number, false, accept, arg);
      const distance = ((points[index] as number) - (froms[probe] as number)) >>> 0;
      if (distance < bestDistance || (distance === bestDistance && probe < bestProbe)) {
        best = index;
        bestProbe = probe;
        bestDistance = distance;
      }
    }
    return this.ownerAt(best);
  }

  /**
   * Index of the first point from `index` on (clockwise, wrapping) whose
   * member `accept` takes, each member tested once; -1 when none is. With
   * `firstRejected`, the member at `index` counts as tested already.
   */
  #walk<A>(index: number, firstRejected: boolean, accept: (member: T, arg: A) => boolean, arg: A): number {
    const owners = this.#owners;
    const members = this.#members;
    let slot = owners[index] as number;
    if (!firstRejected && accept(members[slot] as T, arg)) return index;
    const seen = this.#seen;
    const stamp = this.#nextStamp();
    seen[slot] = stamp;
    const total = owners.length;
    for (let distinct = 1, steps = 1; distinct < this.#slotOf.size && steps < total; steps++) {
      index = index + 1 === total ? 0 : index + 1;
      slot = owners[index] as number;
      if (seen[slot] === stamp) continue;
      seen[slot] = stamp;
      distinct++;
      if (accept(members[slot] as T, arg)) return index;
    }
    return -1;
  }

  #nextStamp(): number {
    this.#stamp = (this.#stamp + 1) >>> 0;
    if (this.#stamp === 0) {
      this.#seen.fill(0);
      this.#stamp = 1;
    }
    return this.#stamp;
  }

  #count(weight: number): number {
    return pointCount(weight, this.virtualNodes, this.#scale);
  }

  #pointsFor(member: T): Int32Array {
    const count = this.#count(member.weight);
    const points = new Int32Array(count);
    for (let i = 0; i < count; i++) points[i] = mixSigned(this.#hash(`${member.id}#${i}`));
    return points;
  }

  #install(points: Int32Array, owners: Int32Array): void {
    // About two points a bucket, at most 2^16 buckets (256 KB).
    const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(points.length + 1)) - 1));
    const shift = 32 - bits;
    const bucketCount = 1 << bits;
    const buckets = new Uint32Array(bucketCount + 1);
    for (let bucket = 0, i = 0; bucket <= bucketCount; bucket++) {
      const start = bucket * 2 ** shift - 2 ** 31;
      while (i < points.length && (points[i] as number) < start) i++;
      buckets[bucket] = i;
    }
    this.#points = points;
    this.#owners = owners;
    this.#buckets = buckets;
    this.#bucketShift = shift;
    if (this.#seen.length < this.#members.length) {
      this.#seen = new Uint32Array(Math.max(16, this.#members.length * 2));
      this.#stamp = 0;
    }
  }
}

/**
 * Probe `probe` (≥ 1) of a key at `position`: the position offset by a
 * multiple of the golden ratio, then re-mixed, so probes land independently
 * of each other and of the key's own position (probe 0).
 */
export function probePosition(position: number, probe: number): number {
  return mixSigned((position + Math.imul(probe, PROBE_STEP)) | 0);
}

const PROBE_STEP = 0x9e3779b9;

function acceptAny(): boolean {
  return true;
}

/** Flips a signed position into unsigned order, for the bucket index. */
const SIGN_BIT = -0x80000000;

/** Member ranks packed below the point in a sort key (2^21 ranks × 2^32 points < 2^53). */
const RANK_LIMIT = 1 << 21;

function pointCount(weight: number, virtualNodes: number, scale: number): number {
  return weight > 0 ? Math.max(1, Math.round((virtualNodes * weight) / scale)) : 0;
}

function totalPoints(members: readonly RingMember[], virtualNodes: number, scale: number): number {
  let total = 0;
  for (const member of members) total += pointCount(member.weight, virtualNodes, scale);
  return total;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

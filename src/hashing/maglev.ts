/**
 * Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software
 * Network Load Balancer", NSDI 2016, §3.4): each member has a preference
 * permutation of the M table entries, `(offset + j × skip) mod M` with offset
 * and skip from two hashes of its id, and members take turns claiming their
 * next unclaimed preferred entry until the table is full. M is prime (default
 * 65537), so every skip visits every entry. A key's member is one array read:
 * `table[position mod M]`. Each member ends up with an almost equal share of
 * entries (within one for equal weights), and a membership change moves few
 * entries besides the ones it must.
 *
 * Weights: every round a member earns `weight / maxWeight` turns and spends
 * whole turns, so the heaviest member claims one entry per round and the
 * others in proportion (the paper's weighted variant fills "turns" the same
 * way). Turns go in id order, so the table depends on the member set only.
 *
 * The table is refilled only when membership or weights change, lazily on
 * the next read (a fill of 65537 entries takes milliseconds, so a pool loaded
 * one backend at a time pays it once); readiness is the caller's filter. `find` takes the key's entry if a predicate accepts its
 * member, else probes re-hashed entries, each member tested once, so the keys
 * of an unready member spread over the others by weight.
 */
import { type HashFunction, mix32, mixSigned } from "./hash-functions.js";
import type { RingMember } from "./ring.js";

/** The paper's smaller table size, and a prime: good for pools up to ~650 members at 1% imbalance. */
export const DEFAULT_TABLE_SIZE = 65537;

export interface MaglevOptions {
  hash: HashFunction;
  /** Entries in the table; must be prime. Default 65537. */
  tableSize?: number;
}

export class MaglevTable<T extends RingMember> {
  readonly size: number;
  readonly #hash: HashFunction;
  /** entry → member slot; -1 while the table is empty. */
  #table: Int32Array;
  #members: T[] = [];
  #weights: number[] = [];
  #slotOf = new Map<T, number>();
  /** slot → entries held, counted during the fill. */
  #entries = new Int32Array(0);
  /** Members changed since the last fill. */
  #stale = false;
  #seen = new Uint32Array(0);
  #stamp = 0;

  constructor(options: MaglevOptions) {
    this.size = options.tableSize ?? DEFAULT_TABLE_SIZE;
    if (!isPrime(this.size)) throw new RangeError(`Maglev table size must be prime, got ${this.size}`);
    this.#hash = options.hash;
    this.#table = new Int32Array(this.size).fill(-1);
  }

  /** Members with a positive weight (each holds entries once the table is filled). */
  get memberCount(): number {
    return this.#members.length;
  }

  get byteLength(): number {
    return this.#table.byteLength + this.#seen.byteLength;
  }

  /**
   * Takes the positive-weight members of `members`; when the set or a weight
   * changed, marks the table for refilling on its next read and returns true.
   * Deferring the fill turns a burst of changes (a pool loaded one backend at
   * a time) into one fill.
   */
  sync(members: readonly T[]): boolean {
    const wanted = [...new Set(members)].filter((member) => member.weight > 0);
    if (
      wanted.length === this.#members.length &&
      wanted.every((member) => {
        const slot = this.#slotOf.get(member);
        return slot !== undefined && this.#weights[slot] === member.weight;
      })
    ) {
      return false;
    }
    this.#setMembers(wanted);
    return true;
  }

  /** Fills the table for `members` now (weight 0 members get no entries). */
  build(members: readonly T[]): void {
    this.#setMembers(members);
    this.#fill();
  }

  #setMembers(members: readonly T[]): void {
    const list = [...new Set(members)].filter((member) => member.weight > 0);
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#members = list;
    this.#weights = list.map((member) => member.weight);
    this.#slotOf = new Map(list.map((member, slot) => [member, slot]));
    this.#stale = true;
  }

  /** Maglev's populate step, with weighted turns. */
  #fill(): void {
    const list = this.#members;
    const size = this.size;
    const table = new Int32Array(size).fill(-1);
    const count = list.length;
    const entries = new Int32Array(count);
    if (count > 0) {
      const next = new Float64Array(count);
      const skip = new Float64Array(count);
      const turns = new Float64Array(count);
      const share = new Float64Array(count);
      const maxWeight = list.reduce((max, member) => Math.max(max, member.weight), 0);
      list.forEach((member, i) => {
        next[i] = mix32(this.#hash(`${member.id}#offset`)) % size;
        skip[i] = (mix32(this.#hash(`${member.id}#skip`)) % (size - 1)) + 1;
        share[i] = member.weight / maxWeight;
      });
      let filled = 0;
      while (filled < size) {
        for (let i = 0; i < count && filled < size; i++) {
          turns[i] = (turns[i] as number) + (share[i] as number);
          while ((turns[i] as number) >= 1 && filled < size) {
            turns[i] = (turns[i] as number) - 1;
            let entry = next[i] as number;
            while ((table[entry] as number) >= 0) entry = (entry + (skip[i] as number)) % size;
            table[entry] = i;
            entries[i] = (entries[i] as number) + 1;
            next[i] = (entry + (skip[i] as number)) % size;
            filled++;
          }
        }
      }
    }
    this.#table = table;
    this.#entries = entries;
    this.#stale = false;
    if (this.#seen.length < count) {
      this.#seen = new Uint32Array(count * 2);
      this.#stamp = 0;
    }
  }

  /** The member owning `position`'s entry, ignoring any predicate. */
  lookup(position: number): T | undefined {
    if (this.#stale) this.#fill();
    return this.#members[this.#table[(position >>> 0) % this.size] as number];
  }

  /** Entries held by `member`. */
  entriesOf(member: T): number {
    const slot = this.#slotOf.get(member);
    if (slot === undefined) return 0;
    if (this.#stale) this.#fill();
    return this.#entries[slot] as number;
  }

  /**
   * The member for `position` if `accept(member, arg)` takes it; otherwise
   * the first accepted member among further entries, each member tested
   * once; undefined when none is. `accept` should be a long-lived function so
   * the search allocates nothing.
   *
   * Further entries are probed at re-hashed positions rather than next to the
   * first: neighbouring entries are correlated through the fill order (with
   * ten members, one member's neighbours can hold three times another's), while
   * re-hashed probes land on each member in proportion to its entries, so a
   * down member's keys spread by weight. After PROBES_PER_MEMBER × members
   * probes, the rest are found by walking the table, which ends the search.
   */
  find<A>(position: number, accept: (member: T, arg: A) => boolean, arg: A): T | undefined {
    const members = this.#members;
    if (members.length === 0) return undefined;
    if (this.#stale) this.#fill();
    const table = this.#table;
    const size = this.size;
    let slot = table[(position >>> 0) % size] as number;
    if (accept(members[slot] as T, arg)) return members[slot];
    const seen = this.#seen;
    this.#stamp = (this.#stamp + 1) >>> 0;
    if (this.#stamp === 0) {
      seen.fill(0);
      this.#stamp = 1;
    }
    const stamp = this.#stamp;
    seen[slot] = stamp;
    let distinct = 1;
    let probe = position;
    for (let left = PROBES_PER_MEMBER * members.length; left > 0 && distinct < members.length; left--) {
      probe = mixSigned((probe + PROBE_STEP) | 0);
      slot = table[(probe >>> 0) % size] as number;
      if (seen[slot] === stamp) continue;
      seen[slot] = stamp;
      distinct++;
      const member = members[slot] as T;
      if (accept(member, arg)) return member;
    }
    let entry = (probe >>> 0) % size;
    for (let steps = 0; distinct < members.length && steps < size; steps++) {
      entry = entry + 1 === size ? 0 : entry + 1;
      slot = table[entry] as number;
      if (seen[slot] === stamp) continue;
      seen[slot] = stamp;
      distinct++;
      const member = members[slot] as T;
      if (accept(member, arg)) return member;
    }
    return undefined;
  }
}

/** Re-hashed probes per member before the search falls back to walking the table. */
const PROBES_PER_MEMBER = 2;
const PROBE_STEP = 0x9e3779b9;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Key popularity in bounded memory: a count-min sketch (Cormode &
 * Muthukrishnan, "An improved data stream summary: the count-min sketch",
 * J. Algorithms 2005) with conservative update, over the hashes of recent
 * keys, plus a short list of the most popular keys for display. Estimates
 * never undercount; they overcount only when a key shares a cell with
 * heavier keys in every row, which a width of 16 / hotShare cells keeps rare.
 *
 * "Recent" is counted in requests, not time, so the tracker needs no clock
 * and behaves the same at any rate: every `window` requests all counters
 * halve, which holds the total between one and two windows and lets a key
 * that cooled down fall out of the hot set within a few windows. A key is hot
 * when its estimate is at least `hotShare` of the total and at least
 * `MIN_HOT_COUNT`, so a handful of early requests does not make a key hot.
 *
 * Hot path: `record` is a few multiplications and typed-array writes; the
 * label of a key (its string, for metrics) is asked for only when the key
 * enters the hot list.
 */

/** Fewest recent requests for a key to count as hot, whatever its share. */
export const MIN_HOT_COUNT = 32;
const DEPTH = 4;
const LIST_SIZE = 16;
/** Odd multipliers for the rows' multiply-shift hashes. */
const ROW_MULTIPLIERS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const;

export interface PopularKey {
  /** The key as the request carried it (or its hash, when no label was available). */
  key: string;
  /** Its estimated share of recent requests, 0 … 1. */
  share: number;
}

export interface PopularityOptions<Source> {
  /** Share of recent requests from which a key is hot, in (0, 1]. */
  hotShare: number;
  /** The key's text for the hot list, read from what `record` was given; asked rarely. */
  label: (source: Source) => string | undefined;
}

export class PopularityTracker<Source> {
  readonly hotShare: number;
  /** Requests between halvings. */
  readonly window: number;
  readonly #label: (source: Source) => string | undefined;
  readonly #shift: number;
  readonly #mask: number;
  readonly #cells: Uint32Array;
  #total = 0;
  #sinceDecay = 0;
  readonly #listHash = new Int32Array(LIST_SIZE);
  readonly #listCount = new Uint32Array(LIST_SIZE);
  readonly #listLabel: (string | undefined)[] = new Array(LIST_SIZE).fill(undefined);
  #listSize = 0;
  /** Smallest count in a full list: keys below it cannot enter. */
  #listFloor = 0;

  constructor(options: PopularityOptions<Source>) {
    this.hotShare = options.hotShare;
    this.#label = options.label;
    const width = 2 ** Math.ceil(Math.log2(Math.max(1024, 16 / options.hotShare)));
    this.#shift = 32 - Math.log2(width);
    this.#mask = width - 1;
    this.#cells = new Uint32Array(width * DEPTH);
    this.window = Math.max(4096, Math.ceil((4 * MIN_HOT_COUNT) / options.hotShare));
  }

  /** Requests counted, after decay. */
  get total(): number {
    return this.#total;
  }

  /** Counts one request for `keyHash`; returns whether the key is hot. */
  record(keyHash: number, source: Source): boolean {
    const cells = this.#cells;
    let estimate = Number.MAX_SAFE_INTEGER;
    for (let row = 0; row < DEPTH; row++) {
      const value = cells[this.#cell(keyHash, row)] as number;
      if (value < estimate) estimate = value;
    }
    estimate++;
    // Conservative update: raise only the cells below the new estimate.
    for (let row = 0; row < DEPTH; row++) {
      const cell = this.#cell(keyHash, row);
      if ((cells[cell] as number) < estimate) cells[cell] = estimate;
    }
    this.#total++;
    if (estimate > this.#listFloor) this.#offer(keyHash, estimate, source);
    if (++this.#sinceDecay >= this.window) this.#decay();
    return this.#isHot(estimate);
  }

  /** Whether `keyHash` is hot, without counting a request. */
  isHot(keyHash: number): boolean {
    return this.#isHot(this.estimate(keyHash));
  }

  /** Estimated recent requests for `keyHash` (never below the true count). */
  estimate(keyHash: number): number {
    let estimate = Number.MAX_SAFE_INTEGER;
    for (let row = 0; row < DEPTH; row++) {
      const value = this.#cells[this.#cell(keyHash, row)] as number;
      if (value < estimate) estimate = value;
    }
    return estimate;
  }

  /** The most popular recent keys, most popular first; with `hotOnly`, only those now hot. */
  top(limit = 10, hotOnly = false): PopularKey[] {
    const entries: PopularKey[] = [];
    for (let i = 0; i < this.#listSize; i++) {
      const count = this.#listCount[i] as number;
      if (hotOnly && !this.#isHot(count)) continue;
      entries.push({
        key: this.#listLabel[i] ?? `#${((this.#listHash[i] as number) >>> 0).toString(16)}`,
        share: this.#total > 0 ? Math.min(1, count / this.#total) : 0,
      });
    }
    return entries.sort((a, b) => b.share - a.share).slice(0, limit);
  }

  #isHot(estimate: number): boolean {
    return estimate >= MIN_HOT_COUNT && estimate >= this.hotShare * this.#total;
  }

  #cell(keyHash: number, row: number): number {
    return row * (this.#mask + 1) + (Math.imul(keyHash, ROW_MULTIPLIERS[row] as number) >>> this.#shift);
  }

  /** Puts the key in the list (or updates it), evicting the least popular entry when full. */
  #offer(keyHash: number, estimate: number, source: Source): void {
    const hashes = this.#listHash;
    const counts = this.#listCount;
    let slot = -1;
    for (let i = 0; i < this.#listSize; i++) {
      if (hashes[i] === keyHash) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      if (this.#listSize < LIST_SIZE) {
        slot = this.#listSize++;
      } else {
        slot = 0;
        for (let i = 1; i < LIST_SIZE; i++) if ((counts[i] as number) < (counts[slot] as number)) slot = i;
      }
      hashes[slot] = keyHash;
      this.#listLabel[slot] = this.#label(source);
    }
    counts[slot] = estimate;
    this.#updateFloor();
  }

  #updateFloor(): void {
    if (this.#listSize < LIST_SIZE) {
      this.#listFloor = 0;
      return;
    }
    let floor = Number.POSITIVE_INFINITY;
    for (let i = 0; i < LIST_SIZE; i++) floor = Math.min(floor, this.#listCount[i] as number);
    this.#listFloor = floor;
  }

  #decay(): void {
    this.#sinceDecay = 0;
    const cells = this.#cells;
    for (let i = 0; i < cells.length; i++) cells[i] = (cells[i] as number) >>> 1;
    this.#total = this.#total >>> 1;
    for (let i = 0; i < this.#listSize; i++) this.#listCount[i] = (this.#listCount[i] as number) >>> 1;
    this.#updateFloor();
  }
}

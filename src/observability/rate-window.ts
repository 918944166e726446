/**
 * Events per second over the last 1, 10 and 60 seconds, from a ring of 64
 * per-second counters. Nothing runs in the background: each `increment`
 * compares its second with the current one and, when the clock has moved on,
 * zeroes the seconds skipped (at most 64 stores, once a second). Rates are
 * read over complete seconds only, so a window never reports a partial
 * second as a slow one; until a window has been open for its whole length, it
 * is averaged over the seconds it has seen.
 */

/** Window lengths read by `rates()`, in seconds. */
export const RATE_WINDOWS = [1, 10, 60] as const;
export type RateWindow = (typeof RATE_WINDOWS)[number];

const RING = 64;
const MASK = RING - 1;

export class PerSecondCounter {
  #ring = new Float64Array(RING);
  #second: number;
  #firstSecond: number;

  /** `second`: the current second on the caller's clock (ms / 1000, floored). */
  constructor(second: number) {
    this.#second = second;
    this.#firstSecond = second;
  }

  /** The second counts go to now. */
  get second(): number {
    return this.#second;
  }

  /** Counts one event at `second`; a second earlier than the current one counts as the current one. */
  increment(second: number): void {
    if (second > this.#second) this.advance(second);
    const slot = this.#second & MASK;
    this.#ring[slot] = (this.#ring[slot] as number) + 1;
  }

  /** Moves to `second`, clearing the counters of the seconds in between. */
  advance(second: number): void {
    if (second <= this.#second) return;
    const steps = Math.min(second - this.#second, RING);
    for (let step = 1; step <= steps; step++) this.#ring[(this.#second + step) & MASK] = 0;
    this.#second = second;
  }

  /** Mean events per second over the `window` complete seconds before `second`. */
  rate(second: number, window: number): number {
    this.advance(second);
    const seen = Math.min(window, this.#second - this.#firstSecond, RING - 1);
    if (seen <= 0) return 0;
    let sum = 0;
    for (let back = 1; back <= seen; back++) sum += this.#ring[(this.#second - back) & MASK] as number;
    return sum / seen;
  }

  /** The rate over each of RATE_WINDOWS, keyed `"1s"`, `"10s"`, `"60s"`. */
  rates(second: number): Record<`${RateWindow}s`, number> {
    return {
      "1s": round(this.rate(second, 1)),
      "10s": round(this.rate(second, 10)),
      "60s": round(this.rate(second, 60)),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

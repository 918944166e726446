/**
 * The proxy's monotonic clock, in ms (performance.now()'s timeline), read at
 * most once per I/O callback on the hot path. One proxied request used to
 * read the clock 13 times (phase clocks, latencies, the balancer's ticks),
 * each a brand check and a system clock read: over 2% of its CPU. A read
 * callback holds the clock (`holdClock`) while it runs: the first `now()`
 * reads it, and the rest of the callback, which takes microseconds, shares
 * that reading. Outside a hold, `now()` reads the clock each time.
 */
import { performance } from "node:perf_hooks";

/** No hold: every now() reads the clock. */
const FREE = -1;
/** Held, not read yet. */
const UNREAD = -2;

let held = FREE;

/** The time: the reading shared by the current hold, or a fresh one. */
export function now(): number {
  if (held >= 0) return held;
  const time = performance.now();
  if (held === UNREAD) held = time;
  return time;
}

/** Starts a hold (for the synchronous run of one I/O callback); returns what `releaseClock` restores. */
export function holdClock(): number {
  const outer = held;
  held = UNREAD;
  return outer;
}

/** Ends the hold `holdClock` began. */
export function releaseClock(outer: number): void {
  held = outer;
}

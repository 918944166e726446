/**
 * How often a sweep checks timeouts kept as timestamps instead of timers (the
 * listener's client connections, a pool's backend connections): a quarter of
 * the shortest timeout that can apply, between 10 ms and 1 s, so a timeout
 * fires at most about a quarter late and a sweep runs at most 100 times a second.
 */
export function sweepPeriod(shortestTimeoutMs: number): number {
  return Math.min(1_000, Math.max(10, Math.floor(shortestTimeoutMs / 4)));
}

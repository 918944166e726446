/**
 * The kinds of the simulation's events (the `kind` of an `EventQueue` entry),
 * all handled by the one loop in simulator.ts, with what their two integer
 * arguments `a`, `b` carry. A slot and token name one attempt (request-table.ts):
 * an event whose token is no longer the slot's is stale and ignored.
 */

/** The next client request arrives. */
export const ARRIVAL = 0;
/** An attempt's service is over: slot, token. */
export const COMPLETE = 1;
/** An attempt sent to a failing backend gets its connect error: slot, token. */
export const ATTEMPT_FAILED = 2;
/** A scenario episode (slow-down, failure) starts: episode index. */
export const EPISODE_START = 3;
/** A scenario episode ends: episode index. */
export const EPISODE_END = 4;
/** A backend joins the pool: backend index. */
export const JOIN = 5;
/** A backend back from a failure is marked healthy: backend index. */
export const MARK_UP = 6;
/** An attempt's hedge delay is up: slot, token. */
export const HEDGE = 7;
/** A load probe's reply is back: probe id. */
export const PROBE_REPLY = 8;
/** The monitoring agents report the interval just ended. */
export const AGENT_REPORT = 9;

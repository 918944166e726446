/**
 * How an attempt ended, as the caller reports it, and the two questions every
 * consumer of an outcome asks: was it cancelled by the caller (a losing
 * hedge, which says nothing about the backend) and did the backend fail.
 */
import type { Backend } from "./backend.js";

export interface Outcome {
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Time from the attempt's start to its end, in ms. */
  latencyMs?: number;
  /** Set when the attempt failed without a usable response (connect error, reset, timeout). */
  error?: string;
}

/**
 * The error a losing hedge attempt is finished with: cancelled by the caller,
 * not failed by the backend, so no counter, breaker or health check holds it
 * against the backend.
 */
export const HEDGE_CANCELLED = "hedge-cancelled";

/** True when the caller cancelled the attempt (a losing hedge). */
export function isCancelled(outcome: Outcome): boolean {
  return outcome.error === HEDGE_CANCELLED;
}

/** True when the backend failed: no usable response, or a 5xx. */
export function isFailure(outcome: Outcome): boolean {
  return outcome.error !== undefined || (outcome.status !== undefined && outcome.status >= 500);
}

/**
 * Something that follows every attempt: `opened` (optional) when an attempt starts on a
 * backend (its in-flight count is about to rise), `closed` when it ends with
 * its outcome (cancelled ones included: check `isCancelled`). Both run on the
 * hot path: synchronous, no allocation.
 */
export interface AttemptObserver {
  opened?(backend: Backend): void;
  closed(backend: Backend, outcome: Outcome): void;
}

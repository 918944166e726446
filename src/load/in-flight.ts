/**
 * In-flight load (tower's `PendingRequests`): work in progress, counting the
 * request about to be placed, divided by weight; lower is better. The +1 makes
 * an idle heavy backend preferred over an idle light one (HAProxy's leastconn
 * key). Compared by cross-multiplying, so the hot path does no division;
 * weight 0 loses to any positive weight.
 */
import type { Backend } from "../core/backend.js";

/** Negative when `a` carries less load per unit of weight than `b`, 0 when equal. */
export function compareInFlight(a: Backend, b: Backend): number {
  const wa = a.weight;
  const wb = b.weight;
  if (wa === 0 || wb === 0) return wb - wa || a.inFlight - b.inFlight;
  return (a.inFlight + 1) * wb - (b.inFlight + 1) * wa;
}

/** The load compared above as a number, for explanations. */
export function inFlightPerWeight(backend: Backend): number {
  return backend.weight === 0 ? Number.POSITIVE_INFINITY : (backend.inFlight + 1) / backend.weight;
}

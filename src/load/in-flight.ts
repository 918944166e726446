/**
 * In-flight load (tower's `PendingRequests`): work in progress, counting the
 * request about to be placed, divided by weight; lower is better. The +1 makes
 * an idle heavy backend preferred over an idle light one (HAProxy's leastconn
 * key). Weight 0 means infinite load: chosen only when nothing else is left.
 */
import type { Backend } from "../core/backend.js";
import type { LoadMetric } from "./load-metric.js";

export function inFlightPerWeight(backend: Backend): number {
  return backend.weight === 0 ? Number.POSITIVE_INFINITY : (backend.inFlight + 1) / backend.weight;
}

export const inFlightLoad: LoadMetric = { name: "in-flight", load: inFlightPerWeight };

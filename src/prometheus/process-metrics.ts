/**
 * prom-client's process and Node metrics (CPU, memory, event loop lag, GC),
 * collected once per process however many exporters read them. Its
 * `nodejs_active_{handles,requests,resources}_total` are gauges named like
 * counters, which `promtool check metrics` reports; they are dropped, since
 * the same families without `_total`, by type, add up to them.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

const COUNTER_NAMED_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

let shared: Registry | undefined;

export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
    for (const name of COUNTER_NAMED_GAUGES) shared.removeSingleMetric(name);
  }
  return shared;
}

/**
 * One `/api/stats` (or the TCP balancer's `/api/performance`) from every worker's: counters and rates add up, latency
 * quantiles and maxima take the highest worker's (as /metrics does), means are
 * recomputed from the merged sum and count, per-backend lists merge by id, and
 * what every worker holds alike (weights, states, names) comes from the first.
 * Health checks run in each worker, so a state can differ between workers for
 * a moment; `?worker=N` on the primary reads one worker's own view.
 */

import { type Combine, combineNumbers } from "./combine.js";

/** Numbers that are not additive, by key. */
const BY_KEY: Readonly<Record<string, Combine>> = {
  time: "max",
  uptimeSeconds: "max",
  p50: "max",
  p95: "max",
  p99: "max",
  max: "max",
  consecutiveOk: "max",
  consecutiveFail: "max",
  ewmaLatencyMs: "average",
  /** `/api/performance`'s mean response times, ms (its success_rate is recomputed from the sums). */
  avg_response_time: "average",
  meanSelectionNs: "average",
  meanFailoverMs: "average",
  effectiveWeight: "average",
  weight: "first",
  /** Counts of backend states: like the states themselves, every worker's view, not a sum. */
  healthyBackends: "first",
  unhealthyBackends: "first",
  sample: "first",
  capacity: "first",
  /** What an algorithm reports (β, γ, cache hit rate): each worker's own; the first worker's is shown. */
  algorithmMetrics: "first",
  /** A pool's discovery source: every worker runs its own; the first worker's state is shown whole. */
  discovery: "first",
  /** The config store's revision: the oldest one a worker runs. */
  revision: "min",
};

/** Objects whose every number is a ratio (load spread), averaged over workers. */
const AVERAGED_OBJECTS = new Set(["loadCv"]);

export function mergeWorkerStats(workers: readonly unknown[]): unknown {
  return merge(workers, "sum");
}

function merge(values: readonly unknown[], combine: Combine): unknown {
  const first = values[0];
  if (typeof first === "number") return combineNumbers(values.filter(isNumber), combine);
  if (Array.isArray(first)) return mergeLists(values.filter(Array.isArray), combine);
  if (isObject(first)) return mergeObjects(values.filter(isObject), combine);
  return first;
}

function mergeObjects(
  objects: readonly Record<string, unknown>[],
  inherited: Combine,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of new Set(objects.flatMap(Object.keys))) {
    const combine = AVERAGED_OBJECTS.has(key) ? "average" : (BY_KEY[key] ?? inherited);
    result[key] = merge(
      objects.map((object) => object[key]).filter((value) => value !== undefined),
      combine,
    );
  }
  const { sum, count } = result;
  if ("mean" in result && isNumber(sum) && isNumber(count)) result.mean = count > 0 ? sum / count : 0;
  const { total_requests: total, failed_requests: failed } = result;
  if ("success_rate" in result && isNumber(total) && isNumber(failed))
    result.success_rate = total === 0 ? 100 : Math.round(((total - failed) / total) * 100_000) / 1000;
  return result;
}

/**
 * Lists of records with an `id` (backends) or a `name` (a listener's routes)
 * merge record by record; any other list is the first worker's.
 */
function mergeLists(lists: readonly unknown[][], combine: Combine): unknown[] {
  const [first = []] = lists;
  const sample = lists.find((list) => list.length > 0) ?? first;
  const key = ["id", "name"].find((field) =>
    sample.every((item) => isObject(item) && typeof item[field] === "string"),
  );
  if (key === undefined) return first;
  const byKey = new Map<string, Record<string, unknown>[]>();
  for (const list of lists) {
    for (const item of list as Record<string, unknown>[]) {
      const value = item[key] as string;
      byKey.set(value, [...(byKey.get(value) ?? []), item]);
    }
  }
  return [...byKey.values()].map((copies) => mergeObjects(copies, combine));
}

function isNumber(value: unknown): value is number {
  return typeof value === "number";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

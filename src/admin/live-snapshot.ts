/**
 * What one `/api/events` message carries: the figures the dashboard draws,
 * read through the same functions as `/api/status`, `/api/stats`,
 * `/api/explain` and `/api/load-test` (so a chart and a curl never disagree),
 * plus the names of the algorithms a pool can switch to.
 */
import { listAlgorithms } from "../algorithms/registry.js";
import type { AdminContext } from "./admin-context.js";
import type { LoadTestJson, LoadTests } from "./load-test-routes.js";
import {
  explain,
  listenerStats,
  type ObservabilityReads,
  type PoolStats,
  poolStats,
  status,
} from "./read-routes.js";

/** Recent decisions sent per pool (the explain ring keeps more; `/api/explain` reads them all). */
export const LIVE_DECISIONS = 6;

export interface LivePool extends PoolStats {
  /** The latest kept decisions, newest first, explained. */
  recentDecisions: ReturnType<typeof explain>["decisions"];
  /** What the algorithm reports about itself (`/api/algorithm-metrics`); null when it reports nothing. */
  algorithmMetrics: object | null;
}

export interface LiveSnapshot {
  /** When it was taken, ms since the epoch. */
  time: number;
  uptimeSeconds: number;
  version: string;
  /** Every algorithm a pool can switch to, by name. */
  algorithms: string[];
  pools: Record<string, LivePool>;
  listeners: Record<string, unknown>;
  /** The latest load test started from the API, running or finished; null before the first. */
  loadTest: LoadTestJson | null;
}

export function liveSnapshot(
  context: AdminContext,
  observability: ObservabilityReads,
  loadTests: LoadTests,
): LiveSnapshot {
  const { uptimeSeconds, version } = status(context);
  const pools: Record<string, LivePool> = {};
  const discovery = observability.discovery?.() ?? {};
  for (const [name, balancer] of context.balancers) {
    pools[name] = {
      ...poolStats(balancer, discovery[name]),
      recentDecisions: explain(balancer, LIVE_DECISIONS).decisions,
      algorithmMetrics: balancer.algorithmMetrics() ?? null,
    };
  }
  return {
    time: Date.now(),
    uptimeSeconds,
    version,
    algorithms: listAlgorithms().map((definition) => definition.name),
    pools,
    listeners: listenerStats(observability),
    loadTest: loadTests.latest(),
  };
}

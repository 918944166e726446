/**
 * The admin API's reads: liveness and readiness, status, the redacted
 * config, servers, stats (with latency percentiles, rates and load spread
 * from each balancer's metrics, each discovery source's state, and the
 * listeners' counters), recent
 * decisions explained, Prometheus text, the algorithm catalogue, and the
 * monitoring-agent pollers (`/api/agents`). Reads need no token.
 */
import { z } from "zod";
import { describeOptions, listAlgorithms } from "../algorithms/registry.js";
import type { Balancer, BalancerStats } from "../balancer/balancer.js";
import type { ConfigStoreStatus } from "../config/etcd/etcd-sync.js";
import { packageVersion } from "../core/version.js";
import type { DiscoveryStats } from "../discovery/refresh-status.js";
import type { PoolMetrics, ResourceReport } from "../observability/balancer-metrics.js";
import type { ExplainedDecision } from "../observability/decision-ring.js";
import type { ListenerMetricsSource, PrometheusExporter } from "../prometheus/exporter.js";
import type { AdminContext, AdminHandler, AdminRequest, Readiness } from "./admin-context.js";
import { algorithmGlobals } from "./compat-routes.js";
import { parseInput, poolQuery, queryObject } from "./inputs.js";
import { resolvePool } from "./pools.js";
import type { Router } from "./router.js";

/** What the observability reads need beyond the balancers. */
export interface ObservabilityReads {
  exporter: PrometheusExporter;
  listeners: () => readonly ListenerMetricsSource[];
  /**
   * Pool name → its agent poller's stats (`AgentPoller.stats()`), for pools
   * that poll monitoring agents; absent when the host runs no pollers.
   */
  agents?: () => Readonly<Record<string, unknown>>;
  /** Pool name → its discovery source's stats, for pools with a discovery source. */
  discovery?: () => Readonly<Record<string, DiscoveryStats>>;
}

const MAX_EXPLAIN_LIMIT = 10_000;
const limitError = `expected a whole number from 1 to ${MAX_EXPLAIN_LIMIT}`;

/** `GET /api/explain?pool=&limit=`. */
const explainQuery = poolQuery.extend({
  limit: z
    .string()
    .regex(/^\d+$/, { error: limitError })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: limitError }).max(MAX_EXPLAIN_LIMIT, { error: limitError }))
    .optional(),
});

export function addReadRoutes(router: Router<AdminHandler>, observability: ObservabilityReads): void {
  router
    .add("GET", "/health", () => ({ body: { status: "ok" } }))
    .add("GET", "/ready", (_request, context) => {
      const readiness = checkReadiness(context);
      return { status: readiness.ready ? 200 : 503, body: { ...readiness, ...storeStatus(context) } };
    })
    .add("GET", "/api/status", (_request, context) => ({ body: status(context) }))
    // Redacted, as every JSON answer is, by sendJson (redact.ts).
    .add("GET", "/api/config", (_request, context) => ({ body: context.config?.() ?? null }))
    .add("GET", "/api/servers", (request, context) => ({
      body: { pools: perPool(request, context, (balancer) => balancer.stats().backends) },
    }))
    .add("GET", "/api/stats", (request, context) => {
      const discovery = observability.discovery?.() ?? {};
      return {
        body: {
          pools: perPool(request, context, (balancer, name) => poolStats(balancer, discovery[name])),
          listeners: listenerStats(observability),
          ...storeStatus(context),
        },
      };
    })
    .add("GET", "/api/explain", (request, context) => {
      const { pool, limit } = parseInput(explainQuery, queryObject(request.query), "query");
      const target = pool === undefined ? undefined : resolvePool(context.balancers, pool);
      const pools: Record<string, unknown> = {};
      for (const [name, balancer] of context.balancers) {
        if (!target || target.name === name) pools[name] = explain(balancer, limit);
      }
      return { body: { pools } };
    })
    .add("GET", "/metrics", async (request) =>
      // ?format=json: prom-client's JSON form, what a cluster primary merges across workers.
      request.query.get("format") === "json"
        ? { body: await observability.exporter.metricsJson() }
        : {
            body: null,
            text: {
              contentType: observability.exporter.contentType,
              data: await observability.exporter.metrics(),
            },
          },
    )
    .add("GET", "/api/algorithms", () => ({ body: { algorithms: algorithms() } }))
    .add("GET", "/api/agents", (request, context) => {
      const polling = observability.agents?.() ?? {};
      return {
        body: {
          pools: perPool(request, context, (balancer, name) => agentStats(balancer, polling[name])),
        },
      };
    })
    .add("GET", "/api/algorithm-metrics", (request, context) => {
      const pools = perPool(request, context, (balancer) => ({
        algorithm: balancer.algorithm,
        metrics: balancer.algorithmMetrics() ?? null,
        regions: balancer.regionStats() ?? null,
      }));
      return { body: { pools, ...algorithmGlobals(pools) } };
    });
}

/** Ready when every pool has a ready backend and the host's own check (if any) agrees. */
export function checkReadiness(context: AdminContext): Readiness {
  const reasons: string[] = [];
  for (const [name, balancer] of context.balancers) {
    const backends = balancer.pool.backends;
    const ready = backends.filter((backend) => backend.ready).length;
    if (ready === 0) reasons.push(`pool "${name}" has no ready backend (0 of ${backends.length} ready)`);
  }
  try {
    const host = context.ready?.();
    if (host && !host.ready) {
      reasons.push(...(host.reasons.length > 0 ? host.reasons : ["the host reports not ready"]));
    }
  } catch (error) {
    reasons.push(`readiness check failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ready: reasons.length === 0, reasons };
}

/** A backend in `/api/stats`: its balancer stats plus, when metrics are on, its recorded figures. */
export type BackendStats = BalancerStats["backends"][number] &
  Partial<Pick<ResourceReport, "statusClasses" | "latencyMs" | "recentRequests">>;

/** A pool in `/api/stats`: its balancer stats plus, when metrics are on, its recorded figures. */
export type PoolStats = Omit<BalancerStats, "backends"> &
  Partial<Omit<PoolMetrics, "backends" | "latencyBuckets">> & {
    backends: BackendStats[];
    /** The pool's discovery source, when it has one. */
    discovery?: DiscoveryStats;
  };

/** A pool in `/api/explain`. */
export interface PoolExplain {
  algorithm: string;
  sample: number;
  capacity: number;
  kept: number;
  decisions: ExplainedDecision[];
}

export interface AdminStatus {
  uptimeSeconds: number;
  version: string;
  pools: Record<string, { algorithm: string; backends: number; ready: number }>;
}

/**
 * `{ configStore: status }` when the pools live in a shared store. Losing the
 * store does not make an instance unready: it keeps routing with the last
 * pools it applied, and taking every instance out of rotation because the
 * store is down would turn a control-plane outage into a traffic outage.
 */
function storeStatus(context: AdminContext): { configStore?: ConfigStoreStatus } {
  return context.configStore ? { configStore: context.configStore.status() } : {};
}

export function status(context: AdminContext): AdminStatus {
  const pools: Record<string, { algorithm: string; backends: number; ready: number }> = {};
  for (const [name, balancer] of context.balancers) {
    const backends = balancer.pool.backends;
    pools[name] = {
      algorithm: balancer.algorithm,
      backends: backends.length,
      ready: backends.filter((backend) => backend.ready).length,
    };
  }
  return {
    uptimeSeconds: Math.floor((Date.now() - context.startedAt) / 1000),
    version: packageVersion(),
    pools,
  };
}

/** `read(balancer)` for every pool, or for the one named by `?pool=`. */
function perPool<T>(
  request: AdminRequest,
  context: AdminContext,
  read: (balancer: Balancer, name: string) => T,
): Record<string, T> {
  const { pool } = parseInput(poolQuery, queryObject(request.query), "query");
  if (pool !== undefined) {
    const target = resolvePool(context.balancers, pool);
    return { [target.name]: read(target.balancer, target.name) };
  }
  const result: Record<string, T> = {};
  for (const [name, balancer] of context.balancers) result[name] = read(balancer, name);
  return result;
}

/**
 * A pool's agent polling: the algorithm, whether agents are polled, and the
 * poller's stats (interval, timeout, per agent polls, successes, errors, last
 * success and error, unmatched backends; the store's hit rate, fallbacks and
 * latest figures). A pool without agents reads `polling: false`.
 */
function agentStats(balancer: Balancer, stats: unknown): Record<string, unknown> {
  if (stats === undefined || stats === null || typeof stats !== "object") {
    return { algorithm: balancer.algorithm, polling: false, agents: [], cache: null };
  }
  return { algorithm: balancer.algorithm, polling: true, ...stats };
}

/**
 * `balancer.stats()` with the recorded figures merged in: per pool the
 * decision and response latency (count, mean, max over the lifetime;
 * p50/p95/p99 over the last 10–20 s), requests per second over 1/10/60 s,
 * load spread and per-region counts, and its discovery source's state when
 * it has one; per backend its outcome classes, latency and recent requests.
 */
export function poolStats(balancer: Balancer, discovery?: DiscoveryStats): PoolStats {
  const stats = { ...balancer.stats(), ...(discovery === undefined ? {} : { discovery }) };
  const metrics = balancer.metrics?.snapshot();
  if (!metrics) return stats;
  const byId = new Map(metrics.backends.map((backend) => [backend.id, backend]));
  // The fixed latency buckets are for /metrics; the JSON carries quantiles.
  const { backends: _recorded, latencyBuckets: _buckets, ...pool } = metrics;
  return {
    ...stats,
    ...pool,
    backends: stats.backends.map((backend) => {
      const recorded = byId.get(backend.id);
      return recorded
        ? {
            ...backend,
            statusClasses: recorded.statusClasses,
            latencyMs: recorded.latencyMs,
            recentRequests: recorded.recentRequests,
          }
        : backend;
    }),
  };
}

export function listenerStats(observability: ObservabilityReads): Record<string, unknown> {
  const listeners: Record<string, unknown> = {};
  for (const listener of observability.listeners()) {
    listeners[listener.name] = {
      pool: listener.pool,
      protocol: listener.protocol,
      ...listener.stats?.(),
      ...(listener.connections ? { connections: listener.connections() } : {}),
    };
  }
  return listeners;
}

export function explain(balancer: Balancer, limit: number | undefined): PoolExplain {
  const metrics = balancer.metrics;
  if (!metrics) return { algorithm: balancer.algorithm, sample: 0, capacity: 0, kept: 0, decisions: [] };
  const ring = metrics.explain;
  return {
    algorithm: balancer.algorithm,
    sample: ring.sample,
    capacity: ring.capacity,
    kept: ring.kept,
    decisions: metrics.recentDecisions(limit),
  };
}

function algorithms(): Record<string, unknown>[] {
  return listAlgorithms().map((definition) => ({
    name: definition.name,
    aliases: definition.aliases ?? [],
    summary: definition.summary,
    reference: definition.reference,
    options: describeOptions(definition),
  }));
}

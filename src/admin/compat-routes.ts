/**
 * The ALPHA1/BETA1 TCP balancer's admin API forms, so its scripts keep
 * working: `GET /api/performance` (its performance summary, snake_case as it
 * answered) and `POST /api/servers/toggle` (`{ host, port }` flips a backend
 * between enabled and disabled). The toggle is translated into the
 * `PATCH /api/servers/:id` registered before it, so it is authorised,
 * validated, logged and (with etcd) stored exactly as that write is.
 * `/api/algorithm-metrics` also carries its `alpha1_global` and
 * `beta1_global` summaries (`algorithmGlobals`). Its other forms live with
 * the routes they alias: `{ strategy }` in inputs.ts,
 * the load-test body and `/api/stress-test` in load-test-routes.ts, the
 * underscore algorithm names in the registry.
 */
import { z } from "zod";
import type { Alpha1Stats } from "../algorithms/alpha1.js";
import type { Beta1Figures } from "../algorithms/beta1.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import { ErrorCodes } from "../core/errors.js";
import type { AdminContext, AdminHandler } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
import { parseInput, poolQuery, queryObject } from "./inputs.js";
import { resolvePool } from "./pools.js";
import type { Router } from "./router.js";

/** POST /api/servers/toggle: the backend by `host` and `port`, by `address`, or by `id`. */
export const toggleInput = z
  .strictObject({
    pool: z.string().min(1, { error: "expected a pool name" }).optional(),
    id: z.string().min(1, { error: "expected a backend id" }).optional(),
    host: z.string().min(1, { error: "expected a host name or address" }).optional(),
    port: z
      .number({ error: "expected a port from 1 to 65535" })
      .int({ error: "expected a port from 1 to 65535" })
      .min(1, { error: "expected a port from 1 to 65535" })
      .max(65_535, { error: "expected a port from 1 to 65535" })
      .optional(),
  })
  .superRefine((input, context) => {
    if (input.id === undefined && (input.host === undefined || input.port === undefined)) {
      context.addIssue({
        code: "custom",
        path: [input.host === undefined ? "host" : "port"],
        message: "{ host, port } or { id } of the backend to toggle",
      });
    }
  });

export interface PerformanceServer {
  pool: string;
  id: string;
  address: string;
  enabled: boolean;
  healthy: boolean;
  total_requests: number;
  failed_requests: number;
  active_connections: number;
  /** EWMA of the backend's response time, ms. */
  avg_response_time: number;
}

/** `GET /api/performance`: every pool (or `?pool=`) summed. */
export interface Performance {
  total_requests: number;
  successful_requests: number;
  failed_requests: number;
  active_connections: number;
  /** Percent of requests that did not fail; 100 before the first request. */
  success_rate: number;
  /** Requests routed over the last 60 s. */
  requests_per_minute: number;
  /** Mean response time since start, ms. */
  avg_response_time: number;
  servers: PerformanceServer[];
}

export function addCompatRoutes(router: Router<AdminHandler>): void {
  const patch = router.match("PATCH", "/api/servers/any");
  if (patch.kind !== "found") throw new Error("register PATCH /api/servers/:id before the toggle");
  const update = patch.route.handler;
  router
    .add("GET", "/api/performance", (request, context) => ({ body: performance(request.query, context) }))
    .add("POST", "/api/servers/toggle", async (request, context) => {
      const input = parseInput(toggleInput, request.body, "request body");
      const { pool, backend } = findBackend(context, input);
      const reply = await update(
        {
          ...request,
          params: { id: backend.id },
          query: new URLSearchParams(),
          body: { pool, enabled: !backend.enabled },
        },
        context,
      );
      return { ...reply, audit: { ...reply.audit, action: "toggle-backend" } };
    });
}

function findBackend(
  context: AdminContext,
  input: z.output<typeof toggleInput>,
): { pool: string; backend: Backend } {
  const pools = poolsNamed(context, input.pool);
  const wanted = input.id ?? `${input.host}:${input.port}`;
  const found: { pool: string; backend: Backend }[] = [];
  for (const [pool, balancer] of pools) {
    for (const backend of balancer.pool.backends) {
      const matches =
        input.id !== undefined
          ? backend.id === input.id
          : backend.port === input.port && sameHost(backend.host, input.host as string);
      if (matches) found.push({ pool, backend });
    }
  }
  if (found.length === 1) return found[0] as { pool: string; backend: Backend };
  if (found.length === 0) {
    throw new AdminError(ErrorCodes.UNKNOWN_BACKEND, `no backend ${wanted} in ${poolsText(input.pool)}`);
  }
  throw new AdminError(
    ErrorCodes.BAD_REQUEST,
    `pool: backend ${wanted} is in several pools (${found.map((entry) => entry.pool).join(", ")}); say which with pool`,
  );
}

/** Every pool, or the one named (404 when there is no such pool). */
function poolsNamed(context: AdminContext, name: string | undefined): [string, Balancer][] {
  if (name === undefined) return [...context.balancers];
  return [[name, resolvePool(context.balancers, name).balancer]];
}

function sameHost(backendHost: string, host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return backendHost.toLowerCase() === bare.toLowerCase();
}

function poolsText(pool: string | undefined): string {
  return pool === undefined ? "any pool" : `pool "${pool}"`;
}

function performance(query: URLSearchParams, context: AdminContext): Performance {
  const { pool } = parseInput(poolQuery, queryObject(query), "query");
  const pools = poolsNamed(context, pool);
  let total = 0;
  let failed = 0;
  let active = 0;
  let perMinute = 0;
  let latencyCount = 0;
  let latencySum = 0;
  const servers: PerformanceServer[] = [];
  for (const [name, balancer] of pools) {
    const stats = balancer.stats();
    total += stats.requests;
    failed += stats.errors;
    active += stats.inFlight;
    const metrics = balancer.metrics?.snapshot();
    if (metrics) {
      perMinute += metrics.requestsPerSecond["60s"] * 60;
      latencyCount += metrics.latencyMs.count;
      latencySum += metrics.latencyMs.sum;
    }
    for (const backend of stats.backends) {
      servers.push({
        pool: name,
        id: backend.id,
        address: backend.address,
        enabled: backend.enabled,
        healthy: backend.ready,
        total_requests: backend.requests,
        failed_requests: backend.errors,
        active_connections: backend.inFlight,
        avg_response_time: round(backend.ewmaLatencyMs),
      });
    }
  }
  return {
    total_requests: total,
    successful_requests: total - failed,
    failed_requests: failed,
    active_connections: active,
    success_rate: total === 0 ? 100 : round(((total - failed) / total) * 100),
    requests_per_minute: Math.round(perMinute),
    avg_response_time: latencyCount === 0 ? 0 : round(latencySum / latencyCount),
    servers,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The ALPHA1/BETA1 balancer's `alpha1_global` and `beta1_global`, each from
 * the first of `pools` running that algorithm; absent when none does.
 */
export function algorithmGlobals(pools: Readonly<Record<string, { algorithm: string; metrics: unknown }>>): {
  alpha1_global?: Record<string, number | null>;
  beta1_global?: Record<string, number>;
} {
  const entries = Object.values(pools);
  const alpha1 = entries.find((pool) => pool.algorithm === "alpha1")?.metrics as Alpha1Stats | undefined;
  const beta1 = entries.find((pool) => pool.algorithm === "beta1")?.metrics as Beta1Figures | undefined;
  const requests = beta1 ? Object.values(beta1.distribution).reduce((sum, picks) => sum + picks, 0) : 0;
  return {
    ...(alpha1 && {
      alpha1_global: {
        beta: alpha1.beta,
        gamma: alpha1.gamma,
        current_p99: alpha1.p99Ms ?? null,
        target_p99: alpha1.targetP99Ms ?? null,
        hedge_rate: alpha1.hedge.rate,
        hedge_budget: alpha1.hedge.budget,
        hedges: alpha1.hedge.hedges,
      },
    }),
    ...(beta1 && {
      beta1_global: {
        cache_hit_rate: beta1.cacheHitRate,
        cached_keys: beta1.cachedKeys,
        bounded_load_redirects: beta1.boundedLoadRedirects,
        redirect_rate: requests === 0 ? 0 : beta1.boundedLoadRedirects / requests,
        servers_in_warmup: beta1.warmingUp.length,
        warmup_progress:
          beta1.warmingUp.length === 0 ? 1 : Math.min(...beta1.warmingUp.map((server) => server.progress)),
      },
    }),
  };
}

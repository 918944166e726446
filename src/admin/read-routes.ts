/**
 * The admin API's reads: liveness and readiness, status, the redacted
 * config, servers, stats and the algorithm catalogue. Reads need no token.
 */
import { describeOptions, listAlgorithms } from "../algorithms/registry.js";
import type { Balancer } from "../core/balancer.js";
import type { AdminContext, AdminHandler, AdminRequest, Readiness } from "./admin-context.js";
import { parseInput, poolQuery, queryObject } from "./inputs.js";
import { resolvePool } from "./pools.js";
import { redactSecrets } from "./redact.js";
import type { Router } from "./router.js";
import { packageVersion } from "./version.js";

export function addReadRoutes(router: Router<AdminHandler>): void {
  router
    .add("GET", "/health", () => ({ body: { status: "ok" } }))
    .add("GET", "/ready", (_request, context) => {
      const readiness = checkReadiness(context);
      return { status: readiness.ready ? 200 : 503, body: readiness };
    })
    .add("GET", "/api/status", (_request, context) => ({ body: status(context) }))
    .add("GET", "/api/config", (_request, context) => ({ body: redactSecrets(context.config ?? null) }))
    .add("GET", "/api/servers", (request, context) => ({
      body: { pools: perPool(request, context, (balancer) => balancer.stats().backends) },
    }))
    .add("GET", "/api/stats", (request, context) => ({
      body: { pools: perPool(request, context, (balancer) => balancer.stats()) },
    }))
    .add("GET", "/api/algorithms", () => ({ body: { algorithms: algorithms() } }));
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

function status(context: AdminContext): Record<string, unknown> {
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
  read: (balancer: Balancer) => T,
): Record<string, T> {
  const { pool } = parseInput(poolQuery, queryObject(request.query), "query");
  if (pool !== undefined) {
    const target = resolvePool(context.balancers, pool);
    return { [target.name]: read(target.balancer) };
  }
  const result: Record<string, T> = {};
  for (const [name, balancer] of context.balancers) result[name] = read(balancer);
  return result;
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

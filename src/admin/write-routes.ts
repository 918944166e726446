/**
 * The admin API's writes: add, re-weight / enable / disable and remove a
 * backend (with or without draining), and switch a pool's algorithm. Every
 * change goes through the pool or the balancer, which validate it again and
 * announce it; each reply carries an `audit` record the server logs with the
 * caller's address.
 */

import type { Balancer } from "../balancer/balancer.js";
import type { BackendSnapshot } from "../core/backend.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "../core/pool.js";
import type { AdminHandler, AdminReply, AdminRequest } from "./admin-context.js";
import {
  addServerInput,
  deleteServerQuery,
  parseInput,
  patchServerInput,
  queryObject,
  strategyErrorCode,
  strategyInput,
} from "./inputs.js";
import { resolvePool } from "./pools.js";
import type { Router } from "./router.js";

export function addWriteRoutes(router: Router<AdminHandler>): void {
  router
    .add("POST", "/api/servers", addServer)
    .add("PATCH", "/api/servers/:id", patchServer)
    .add("DELETE", "/api/servers/:id", deleteServer)
    .add("POST", "/api/strategy", switchStrategy);
}

const addServer: AdminHandler = (request, context) => {
  const { pool, ...spec } = parseInput(addServerInput, request.body, "request body");
  const target = resolvePool(context.balancers, pool);
  const backend = target.balancer.pool.add(spec);
  return {
    status: 201,
    body: backendJson(target.balancer, backend.id),
    headers: { location: serverLocation(target.name, backend.id) },
    audit: { action: "add-backend", pool: target.name, id: backend.id, address: backend.address },
  };
};

const patchServer: AdminHandler = (request, context) => {
  const id = request.params.id as string;
  const input = parseInput(patchServerInput, request.body, "request body");
  const target = resolvePool(context.balancers, input.pool ?? request.query.get("pool") ?? undefined, id);
  const pool = target.balancer.pool;
  const backend = pool.require(id);
  const previous = { weight: backend.configuredWeight, enabled: backend.enabled };
  if (input.weight !== undefined) pool.setWeight(id, input.weight);
  if (input.enabled === true) pool.enable(id);
  if (input.enabled === false) pool.disable(id);
  return {
    body: backendJson(target.balancer, id),
    audit: {
      action: "update-backend",
      pool: target.name,
      id,
      previous,
      weight: input.weight,
      enabled: input.enabled,
    },
  };
};

const deleteServer: AdminHandler = async (request, context) => {
  const id = request.params.id as string;
  const query = parseInput(deleteServerQuery, queryObject(request.query), "query");
  const target = resolvePool(context.balancers, query.pool, id);
  const pool = target.balancer.pool;
  const backend = pool.require(id);
  if (!query.drain) {
    const snapshot = backendJson(target.balancer, id);
    await pool.remove(id);
    return {
      body: { ...snapshot, removed: true },
      audit: { action: "remove-backend", pool: target.name, id, drain: false },
    };
  }
  const timeoutMs = query.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const started = Date.now();
  pool
    .remove(id, { drain: true, drainTimeoutMs: timeoutMs })
    .then(() => {
      context.logger.info(
        {
          pool: target.name,
          id,
          drainMs: Date.now() - started,
          inFlightLeft: backend.inFlight,
          timedOut: backend.inFlight > 0,
        },
        "drained backend removed",
      );
    })
    .catch((error: unknown) => {
      context.logger.error({ err: error, pool: target.name, id }, "removing the drained backend failed");
    });
  return {
    status: 202,
    body: { pool: target.name, id, draining: true, inFlight: backend.inFlight, timeoutMs },
    audit: { action: "drain-backend", pool: target.name, id, drain: true, timeoutMs },
  };
};

const switchStrategy: AdminHandler = (request: AdminRequest, context): AdminReply => {
  const input = parseInput(strategyInput, request.body, "request body", strategyErrorCode);
  const target = resolvePool(context.balancers, input.pool);
  const previous = target.balancer.algorithmSpec;
  target.balancer.setAlgorithm(input.algorithm);
  return {
    body: {
      pool: target.name,
      algorithm: target.balancer.algorithm,
      spec: target.balancer.algorithmSpec,
      previous,
    },
    audit: { action: "switch-algorithm", pool: target.name, algorithm: input.algorithm, previous },
  };
};

/** A backend as `/api/servers` lists it (with its circuit state). */
export function backendJson(balancer: Balancer, id: string): BackendSnapshot {
  return balancer.stats().backends.find((backend) => backend.id === id) ?? balancer.pool.require(id).toJSON();
}

export function serverLocation(pool: string, id: string): string {
  return `/api/servers/${encodeURIComponent(id)}?pool=${encodeURIComponent(pool)}`;
}

/**
 * The admin API's writes when the pools live in a shared store (etcd): the
 * same routes and inputs as write-routes.ts, but each change is written to
 * the store, which every instance follows, and answered once this instance
 * has applied it, from its own pool, as the local writes answer. When the
 * wait runs out the change is still made: the answer is 202 with the
 * revision. The revision also travels in the `x-switchyard-revision` header.
 * Removal always drains, as a hot reload does on every instance.
 */
import type { Balancer } from "../balancer/balancer.js";
import type { AdminConfigStore, StoreWrite } from "../config/store-writes.js";
import { ErrorCodes } from "../core/errors.js";
import type { AdminHandler, AdminReply } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
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
import { backendJson, serverLocation } from "./write-routes.js";

export function addStoreWriteRoutes(router: Router<AdminHandler>, store: AdminConfigStore): void {
  router
    .add("POST", "/api/servers", async (request, context) => {
      const { pool, ...spec } = parseInput(addServerInput, request.body, "request body");
      const target = resolvePool(context.balancers, pool);
      const id = spec.id ?? spec.address;
      const write = await store.addBackend(target.name, spec);
      const audit = { action: "add-backend", pool: target.name, id, address: spec.address };
      return answer(write, { pool: target.name, id }, audit, () => ({
        status: 201,
        body: backendJson(target.balancer, id),
        headers: { location: serverLocation(target.name, id) },
      }));
    })
    .add("PATCH", "/api/servers/:id", async (request, context) => {
      const id = request.params.id as string;
      const input = parseInput(patchServerInput, request.body, "request body");
      const target = resolvePool(context.balancers, input.pool ?? request.query.get("pool") ?? undefined, id);
      const change = { weight: input.weight, enabled: input.enabled };
      const write = await store.updateBackend(target.name, id, change);
      const audit = { action: "update-backend", pool: target.name, id, ...change };
      return answer(write, { pool: target.name, id }, audit, () => ({
        body: backendJson(target.balancer, id),
      }));
    })
    .add("DELETE", "/api/servers/:id", async (request, context) => {
      const id = request.params.id as string;
      const query = parseInput(deleteServerQuery, queryObject(request.query), "query");
      if (query.drain === false || query.timeoutMs !== undefined) {
        throw new AdminError(
          ErrorCodes.BAD_REQUEST,
          "query: drain=false and timeoutMs are not available when the pools live in etcd; every instance drains the backend as a hot reload does",
        );
      }
      const target = resolvePool(context.balancers, query.pool, id);
      const write = await store.removeBackend(target.name, id);
      const audit = { action: "remove-backend", pool: target.name, id, drain: true };
      return answer(write, { pool: target.name, id }, audit, () => removal(target.balancer, target.name, id));
    })
    .add("POST", "/api/strategy", async (request, context) => {
      const input = parseInput(strategyInput, request.body, "request body", strategyErrorCode);
      const target = resolvePool(context.balancers, input.pool);
      const previous = target.balancer.algorithmSpec;
      const write = await store.setAlgorithm(target.name, input.algorithm);
      const audit = { action: "switch-algorithm", pool: target.name, algorithm: input.algorithm, previous };
      return answer(write, { pool: target.name }, audit, () => ({
        body: {
          pool: target.name,
          algorithm: target.balancer.algorithm,
          spec: target.balancer.algorithmSpec,
          previous,
        },
      }));
    });
}

/** The applied answer from `applied()`, or 202 naming the revision when this instance has not applied it yet. */
function answer(
  write: StoreWrite,
  subject: Record<string, string>,
  audit: Record<string, unknown>,
  applied: () => Omit<AdminReply, "audit">,
): AdminReply {
  const headers = { "x-switchyard-revision": String(write.revision) };
  if (!write.applied) {
    return {
      status: 202,
      headers,
      body: {
        ...subject,
        revision: write.revision,
        applied: false,
        message: `written to etcd at revision ${write.revision}; this instance has not applied it yet`,
      },
      audit: { ...audit, revision: write.revision, applied: false },
    };
  }
  const reply = applied();
  return {
    ...reply,
    headers: { ...reply.headers, ...headers },
    audit: { ...audit, revision: write.revision },
  };
}

/** 202 while the removed backend drains here, 200 once it is gone. */
function removal(balancer: Balancer, pool: string, id: string): Omit<AdminReply, "audit"> {
  const backend = balancer.pool.get(id);
  if (backend) return { status: 202, body: { pool, id, draining: true, inFlight: backend.inFlight } };
  return { body: { pool, id, removed: true } };
}

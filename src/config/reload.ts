/**
 * Hot reload planning: `diffConfig(running, next)` compares two validated
 * configs and returns what can be applied in place (per pool: backends to
 * add, to remove with drain, weight and enabled changes, an algorithm switch,
 * a new discovery source;
 * per HTTP listener: its routes, rate limit and default pool) and what cannot (other listener
 * settings, pools added or removed, health checks and other pool or global
 * settings), which is reported as "needs restart". The plan is pure data;
 * `Runtime.reload` applies it.
 *
 * Just over 400 lines: the diff, the applied plan and the effective config must
 * agree on which keys change in place, so they are read together.
 */
import { isDeepStrictEqual } from "node:util";
import { type AlgorithmSpec, resolveAlgorithm } from "../algorithms/registry.js";
import type { WatchLogger } from "../core/watch-file.js";
import { type DiscoveryConfig, describeDiscovery } from "../discovery/discovery-options.js";
import type { ReloadStats } from "./reload-stats.js";
import type { BackendConfig, ListenerConfig, PoolConfig, SwitchyardConfig } from "./schema.js";

export interface WeightChange {
  id: string;
  from: number;
  to: number;
}

export interface PoolReloadPlan {
  pool: string;
  /** Backends to add, as configured. */
  add: BackendConfig[];
  /** Ids of backends to remove with drain. */
  remove: string[];
  weights: WeightChange[];
  enable: string[];
  disable: string[];
  /** The new algorithm spec, when it differs (after normalization) from the running one. */
  algorithm?: AlgorithmSpec;
  /** The new discovery source (undefined: none), when it differs from the running one. */
  discovery?: { to: DiscoveryConfig | undefined };
}

/** A listener whose routes or rate limit change in place; both are given as they will be. */
export interface ListenerReloadPlan {
  listener: string;
  /** The keys that changed, for the log. */
  changed: ("routes" | "rateLimit" | "pool")[];
  routes: ListenerConfig["routes"];
  rateLimit: ListenerConfig["rateLimit"];
  /** The default pool (undefined: none, requests no route takes get 404). */
  pool: ListenerConfig["pool"];
}

export interface ReloadPlan {
  /** Pools present in both configs with at least one in-place change. */
  pools: PoolReloadPlan[];
  /** Listeners present in both configs whose routes or rate limit change. */
  listeners: ListenerReloadPlan[];
  /** Human-readable changes that only a restart applies; they are not applied. */
  needsRestart: string[];
}

/** A backend's identity in a pool: its id, or its address when it has none. */
export function backendId(backend: Pick<BackendConfig, "id" | "address">): string {
  return backend.id ?? backend.address;
}

/** Canonical form of an algorithm spec: definition name (aliases resolved) plus validated options. */
export function normalizeAlgorithm(spec: AlgorithmSpec): Record<string, unknown> {
  try {
    const { definition, options } = resolveAlgorithm(spec);
    return { name: definition.name, ...options };
  } catch {
    return typeof spec === "string" ? { name: spec } : { ...spec };
  }
}

const IN_PLACE_POOL_KEYS = new Set(["algorithm", "backends", "discovery"]);
const IN_PLACE_BACKEND_KEYS = new Set(["weight", "enabled"]);
/** What an HTTP listener changes in place; a TCP listener's pool needs a restart. */
const IN_PLACE_LISTENER_KEYS = ["routes", "rateLimit", "pool"] as const;

/** What it takes to go from `running` to `next`. Neither config is modified. */
export function diffConfig(running: SwitchyardConfig, next: SwitchyardConfig): ReloadPlan {
  const needsRestart: string[] = [];
  const pools: PoolReloadPlan[] = [];

  const topKeys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const key of [...topKeys].sort()) {
    if (key === "pools" || key === "listeners") continue;
    const a = (running as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (!isDeepStrictEqual(a, b)) needsRestart.push(`${key} changed`);
  }
  const listeners = diffListeners(running, next, needsRestart);

  for (const name of Object.keys(running.pools)) {
    if (!(name in next.pools)) needsRestart.push(`pool "${name}" removed`);
  }
  for (const [name, nextPool] of Object.entries(next.pools)) {
    const runningPool = running.pools[name];
    if (!runningPool) {
      needsRestart.push(`pool "${name}" added`);
      continue;
    }
    const plan = diffPool(name, runningPool, nextPool, needsRestart);
    if (!isEmptyPoolPlan(plan)) pools.push(plan);
  }
  return { pools, listeners, needsRestart };
}

function diffListeners(
  running: SwitchyardConfig,
  next: SwitchyardConfig,
  needsRestart: string[],
): ListenerReloadPlan[] {
  const plans: ListenerReloadPlan[] = [];
  const before = new Map(running.listeners.map((listener) => [listener.name, listener]));
  const after = new Map(next.listeners.map((listener) => [listener.name, listener]));
  for (const name of before.keys()) if (!after.has(name)) needsRestart.push(`listener "${name}" removed`);
  for (const [name, listener] of after) {
    const old = before.get(name);
    if (!old) {
      needsRestart.push(`listener "${name}" added`);
      continue;
    }
    if (!isDeepStrictEqual(withoutInPlaceKeys(old), withoutInPlaceKeys(listener)))
      needsRestart.push(`listener "${name}" changed`);
    const changed = IN_PLACE_LISTENER_KEYS.filter((key) => !isDeepStrictEqual(old[key], listener[key]));
    if (changed.length === 0 || listener.protocol !== "http") continue;
    // The running proxy has balancers only for the running pools; a new pool waits for a restart.
    const pools = [
      ...(listener.pool === undefined ? [] : [{ what: "its default pool", pool: listener.pool }]),
      ...(listener.routes ?? []).flatMap((route) =>
        route.pool === undefined ? [] : [{ what: `route "${route.name}"`, pool: route.pool }],
      ),
    ];
    const unknown = pools.find(({ pool }) => !(pool in running.pools));
    if (unknown !== undefined) {
      needsRestart.push(
        `listener "${name}": routes not applied: ${unknown.what} names pool "${unknown.pool}", which is not running (a pool added by reload needs a restart)`,
      );
      continue;
    }
    plans.push({
      listener: name,
      changed,
      routes: listener.routes,
      rateLimit: listener.rateLimit,
      pool: listener.pool,
    });
  }
  return plans;
}

function withoutInPlaceKeys(listener: ListenerConfig): Partial<ListenerConfig> {
  const { routes: _routes, rateLimit: _rateLimit, pool, ...rest } = listener;
  return listener.protocol === "http" ? rest : { ...rest, pool };
}

function diffPool(
  name: string,
  running: PoolConfig,
  next: PoolConfig,
  needsRestart: string[],
): PoolReloadPlan {
  const plan: PoolReloadPlan = { pool: name, add: [], remove: [], weights: [], enable: [], disable: [] };

  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const key of [...keys].sort()) {
    if (IN_PLACE_POOL_KEYS.has(key)) continue;
    const a = (running as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (!isDeepStrictEqual(a, b)) needsRestart.push(`pool "${name}": ${key} changed`);
  }

  if (!isDeepStrictEqual(normalizeAlgorithm(running.algorithm), normalizeAlgorithm(next.algorithm))) {
    plan.algorithm = next.algorithm;
  }
  if (!isDeepStrictEqual(running.discovery, next.discovery)) plan.discovery = { to: next.discovery };

  const before = new Map(running.backends.map((backend) => [backendId(backend), backend]));
  const after = new Map(next.backends.map((backend) => [backendId(backend), backend]));
  for (const id of before.keys()) if (!after.has(id)) plan.remove.push(id);
  for (const [id, backend] of after) {
    const old = before.get(id);
    if (!old) {
      plan.add.push(backend);
      if (backend.agent) needsRestart.push(`pool "${name}": agent polling for added backend "${id}"`);
      continue;
    }
    const fields = new Set([...Object.keys(old), ...Object.keys(backend)]);
    const fixed = [...fields]
      .filter((field) => !IN_PLACE_BACKEND_KEYS.has(field))
      .filter(
        (field) =>
          !isDeepStrictEqual(
            (old as Record<string, unknown>)[field],
            (backend as Record<string, unknown>)[field],
          ),
      );
    if (fixed.length > 0) {
      needsRestart.push(`pool "${name}": backend "${id}" ${fixed.sort().join(", ")} changed`);
    }
    if (old.weight !== backend.weight) plan.weights.push({ id, from: old.weight, to: backend.weight });
    if (old.enabled !== backend.enabled) (backend.enabled ? plan.enable : plan.disable).push(id);
  }
  return plan;
}

function isEmptyPoolPlan(plan: PoolReloadPlan): boolean {
  return (
    plan.add.length === 0 &&
    plan.remove.length === 0 &&
    plan.weights.length === 0 &&
    plan.enable.length === 0 &&
    plan.disable.length === 0 &&
    plan.algorithm === undefined &&
    plan.discovery === undefined
  );
}

/** True when the plan changes nothing and needs no restart. */
export function isEmptyPlan(plan: ReloadPlan): boolean {
  return plan.pools.length === 0 && plan.listeners.length === 0 && plan.needsRestart.length === 0;
}

/**
 * One line for the applied changes, e.g. `pool "main": added b3; weight b2 1→3; listener "web": routes changed`.
 */
export function describePlan(plan: ReloadPlan): string {
  if (plan.pools.length === 0 && plan.listeners.length === 0) return "no in-place changes";
  const pools = plan.pools.map((pool) => {
    const parts: string[] = [];
    if (pool.add.length > 0) parts.push(`added ${pool.add.map(backendId).join(", ")}`);
    if (pool.remove.length > 0) parts.push(`removed (draining) ${pool.remove.join(", ")}`);
    for (const change of pool.weights) parts.push(`weight ${change.id} ${change.from}→${change.to}`);
    if (pool.enable.length > 0) parts.push(`enabled ${pool.enable.join(", ")}`);
    if (pool.disable.length > 0) parts.push(`disabled ${pool.disable.join(", ")}`);
    if (pool.algorithm !== undefined) parts.push(`algorithm → ${algorithmLabel(pool.algorithm)}`);
    if (pool.discovery !== undefined) {
      const to = pool.discovery.to;
      parts.push(`discovery → ${to === undefined ? "off" : describeDiscovery(to)}`);
    }
    return `pool "${pool.pool}": ${parts.join("; ")}`;
  });
  const listeners = plan.listeners.map(
    (listener) => `listener "${listener.listener}": ${listener.changed.join(" and ")} changed`,
  );
  return [...pools, ...listeners].join("; ");
}

function algorithmLabel(spec: AlgorithmSpec): string {
  return typeof spec === "string" ? spec : spec.name;
}

/**
 * The config that is actually running after a reload to `next`: `next`'s
 * in-place parts (algorithm, discovery, backend membership, weight, enabled) of existing
 * pools, the routes and rate limits of the `applied` listeners, and
 * `running`'s everything else.
 */
export function effectiveConfig(
  running: SwitchyardConfig,
  next: SwitchyardConfig,
  applied: readonly ListenerReloadPlan[] = [],
): SwitchyardConfig {
  const pools: SwitchyardConfig["pools"] = {};
  for (const [name, runningPool] of Object.entries(running.pools)) {
    const nextPool = next.pools[name];
    if (!nextPool) {
      pools[name] = runningPool;
      continue;
    }
    const before = new Map(runningPool.backends.map((backend) => [backendId(backend), backend]));
    const backends = nextPool.backends.map((backend) => {
      const old = before.get(backendId(backend));
      return old ? { ...old, weight: backend.weight, enabled: backend.enabled } : backend;
    });
    const { discovery: _running, ...kept } = runningPool;
    const discovery = nextPool.discovery === undefined ? {} : { discovery: nextPool.discovery };
    pools[name] = { ...kept, algorithm: nextPool.algorithm, backends, ...discovery };
  }
  const listeners = running.listeners.map((listener) => {
    const change = applied.find((plan) => plan.listener === listener.name);
    return change
      ? { ...listener, routes: change.routes, rateLimit: change.rateLimit, pool: change.pool }
      : listener;
  });
  return { ...running, pools, listeners };
}

/** What `Runtime.reload` did. */
export interface ReloadResult {
  plan: ReloadPlan;
  /** The one-line summary that was logged. */
  summary: string;
  /** Changes that only a restart applies (also in `plan.needsRestart`). */
  needsRestart: string[];
  /** In-place changes that failed, e.g. adding a backend whose previous instance is still draining. */
  errors: string[];
  /** Settle when every removed backend has finished draining (or timed out). */
  drained: Promise<void>;
}

/** The part of a balancer that reload uses (satisfied by `Balancer`). */
export interface ReloadTarget {
  readonly pool: {
    add(spec: BackendConfig): unknown;
    remove(id: string, options: { drain?: boolean; drainTimeoutMs?: number }): Promise<unknown>;
    setWeight(id: string, weight: number): void;
    enable(id: string): void;
    disable(id: string): void;
  };
  setAlgorithm(spec: AlgorithmSpec): void;
}

export interface ApplyOptions {
  /** Upper bound on each drain; default the pool's (30 s). */
  drainTimeoutMs?: number;
  logger?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
}

/**
 * Applies the in-place part of `plan` to the running balancers. Removals start
 * draining and are not awaited (see `drained`); each one is logged when done.
 */
export function applyReloadPlan(
  balancers: ReadonlyMap<string, ReloadTarget>,
  plan: ReloadPlan,
  options: ApplyOptions = {},
): Omit<ReloadResult, "summary"> {
  const errors: string[] = [];
  const drains: Promise<unknown>[] = [];
  const attempt = (what: string, action: () => void) => {
    try {
      action();
    } catch (error) {
      errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  for (const poolPlan of plan.pools) {
    const balancer = balancers.get(poolPlan.pool);
    if (!balancer) {
      errors.push(`pool "${poolPlan.pool}" is not running`);
      continue;
    }
    const { pool } = balancer;
    for (const backend of poolPlan.add) {
      attempt(`pool "${poolPlan.pool}": add ${backendId(backend)}`, () => pool.add(backend));
    }
    for (const change of poolPlan.weights) {
      attempt(`pool "${poolPlan.pool}": weight ${change.id}`, () => pool.setWeight(change.id, change.to));
    }
    for (const id of poolPlan.enable) attempt(`pool "${poolPlan.pool}": enable ${id}`, () => pool.enable(id));
    for (const id of poolPlan.disable)
      attempt(`pool "${poolPlan.pool}": disable ${id}`, () => pool.disable(id));
    if (poolPlan.algorithm !== undefined) {
      const spec = poolPlan.algorithm;
      attempt(`pool "${poolPlan.pool}": algorithm`, () => balancer.setAlgorithm(spec));
    }
    for (const id of poolPlan.remove) {
      const started = Date.now();
      let draining: Promise<unknown>;
      try {
        draining = pool.remove(id, { drain: true, drainTimeoutMs: options.drainTimeoutMs });
      } catch (error) {
        errors.push(`pool "${poolPlan.pool}": remove ${id}: ${(error as Error).message}`);
        continue;
      }
      drains.push(
        draining.then(
          () =>
            options.logger?.info(
              { pool: poolPlan.pool, backend: id, ms: Date.now() - started },
              "reload: backend drained and removed",
            ),
          (error: unknown) =>
            options.logger?.warn(
              { pool: poolPlan.pool, backend: id, error: (error as Error).message },
              "reload: backend removal failed",
            ),
        ),
      );
    }
  }
  return {
    plan,
    needsRestart: plan.needsRestart,
    errors,
    drained: Promise.all(drains).then(() => undefined),
  };
}

/**
 * Re-reads the config with `resolve` and applies it to `runtime`. An invalid
 * config is rejected with one error log line (the formatted config errors),
 * counted in `runtime.reloads`, and the running config stays. Resolves with
 * the result, or undefined when rejected.
 */
export async function reloadFromFile(
  runtime: { reload(next: SwitchyardConfig): ReloadResult; readonly reloads: ReloadStats },
  resolve: () => Promise<SwitchyardConfig>,
  logger: WatchLogger,
): Promise<ReloadResult | undefined> {
  let next: SwitchyardConfig;
  try {
    next = await resolve();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error(
      { code: (error as { code?: string }).code },
      `config reload rejected, keeping the running config: ${message.replace(/\n\s*/g, " ")}`,
    );
    runtime.reloads.recordRejected();
    return undefined;
  }
  return runtime.reload(next);
}

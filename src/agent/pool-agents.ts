/**
 * Agent polling for one configured pool, as the runtime starts it: when any
 * backend names an `agent` (or the pool has an `agents` block), a metrics
 * store with the pool's stale limit and fallback is attached to the pool and
 * a poller starts filling it. Pools without agents get nothing, and the
 * metrics-driven algorithms there fall back as configured.
 */
import type { Pool } from "../core/pool.js";
import { BackendMetricsStore } from "../load/backend-metrics.js";
import type { Logger } from "../observability/logger.js";
import { type AgentsOptions, type AgentTarget, agentsSchema } from "./agent-options.js";
import { AgentPoller } from "./poller.js";

/** What agent polling reads of a pool's config (a configured pool is one). */
export interface PoolAgentsConfig {
  backends: readonly { id?: string | undefined; address: string; agent?: AgentTarget | undefined }[];
  agents?: AgentsOptions | undefined;
}

export interface PoolAgents {
  store: BackendMetricsStore;
  poller: AgentPoller;
  /** Stops polling and detaches the store from the pool. */
  stop(): Promise<void>;
}

/** Starts agent polling for `pool` when its config asks for it; undefined otherwise. */
export function startPoolAgents(
  pool: Pool,
  config: PoolAgentsConfig,
  logger: Logger,
): PoolAgents | undefined {
  const targets = new Map<string, AgentTarget>();
  for (const backend of config.backends) {
    if (backend.agent) targets.set(backend.id ?? backend.address, backend.agent);
  }
  if (targets.size === 0 && config.agents === undefined) return undefined;
  const options: AgentsOptions = config.agents ?? agentsSchema.parse({});
  const store = new BackendMetricsStore({ ttlMs: options.cacheTtlMs, fallback: options.fallback });
  const detach = store.attach(pool);
  const poller = new AgentPoller({
    pool,
    store,
    targets,
    pollIntervalMs: options.pollIntervalMs,
    timeoutMs: options.timeoutMs,
    logger,
  }).start();
  return {
    store,
    poller,
    async stop() {
      await poller.stop();
      detach();
    },
  };
}

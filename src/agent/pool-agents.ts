/**
 * Agent polling for one configured pool, as the runtime starts it: when any
 * backend names an `agent` (or the pool has an `agents` block), the pool's
 * metrics store (its balancer's) takes the pool's stale limit and fallback
 * and a poller starts filling it. Pools without agents get no poller, and
 * the metrics-driven algorithms there fall back as configured.
 */
import type { Pool } from "../core/pool.js";
import type { ResourceReportStore } from "../load/resource-reports.js";
import type { Logger } from "../observability/logger.js";
import { type AgentsOptions, type AgentTarget, agentsSchema } from "./agent-options.js";
import { AgentPoller } from "./poller.js";

/** What agent polling reads of a pool's config (a configured pool is one). */
export interface PoolAgentsConfig {
  backends: readonly { id?: string | undefined; address: string; agent?: AgentTarget | undefined }[];
  agents?: AgentsOptions | undefined;
}

export interface PoolAgents {
  store: ResourceReportStore;
  poller: AgentPoller;
  /** Stops polling and stops following the pool. */
  stop(): Promise<void>;
}

/**
 * Starts agent polling for `pool` into `store` (its balancer's) when its
 * config asks for it, with the config's stale limit and fallback; undefined
 * otherwise.
 */
export function startPoolAgents(
  pool: Pool,
  store: ResourceReportStore,
  config: PoolAgentsConfig,
  logger: Logger,
): PoolAgents | undefined {
  const targets = new Map<string, AgentTarget>();
  for (const backend of config.backends) {
    if (backend.agent) targets.set(backend.id ?? backend.address, backend.agent);
  }
  if (targets.size === 0 && config.agents === undefined) return undefined;
  const options: AgentsOptions = config.agents ?? agentsSchema.parse({});
  store.configure({ ttlMs: options.cacheTtlMs, fallback: options.fallback });
  const unfollow = store.follow(pool);
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
      unfollow();
    },
  };
}

/**
 * The monitoring agents' metric families, for pools whose backends have
 * agents: polls and failed polls per agent, the metrics cache's lookups and
 * hits (the hit rate), and picks made by the fallback.
 */
import type { AgentPollerStats } from "../agent/poller.js";
import type { Emit, MetricFamilies } from "./metric-families.js";

export function defineAgentMetrics(
  families: MetricFamilies,
  scrape: () => readonly (readonly [pool: string, stats: AgentPollerStats])[],
): void {
  const agents = (read: (pool: string, stats: AgentPollerStats, emit: Emit) => void) => (emit: Emit) => {
    for (const [pool, stats] of scrape()) read(pool, stats, emit);
  };
  families.counter(
    "agent_polls_total",
    "Queries sent to each monitoring agent.",
    ["pool", "agent"],
    agents((pool, stats, emit) => {
      for (const agent of stats.agents) emit({ pool, agent: agent.url }, agent.polls);
    }),
  );
  families.counter(
    "agent_poll_errors_total",
    "Agent queries that failed (down, slow, or an answer that was not a valid report).",
    ["pool", "agent"],
    agents((pool, stats, emit) => {
      for (const agent of stats.agents) emit({ pool, agent: agent.url }, agent.errors);
    }),
  );
  families.counter(
    "agent_cache_lookups_total",
    "Backend metrics read by the metrics-driven algorithms.",
    ["pool"],
    agents((pool, stats, emit) => emit({ pool }, stats.cache.lookups)),
  );
  families.counter(
    "agent_cache_hits_total",
    "Backend metrics reads that found a sample younger than the cache TTL (hit rate = hits / lookups).",
    ["pool"],
    agents((pool, stats, emit) => emit({ pool }, stats.cache.freshLookups)),
  );
  families.counter(
    "agent_fallbacks_total",
    "Picks made by the fallback (round-robin) because no ready backend had fresh metrics.",
    ["pool"],
    agents((pool, stats, emit) => emit({ pool }, stats.cache.fallbacks)),
  );
}

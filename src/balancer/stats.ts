/**
 * `balancer.stats()`: the balancer's counters beside each backend's own
 * figures, its circuit, its health details and, with affinity on, its live
 * sessions. Assembled on request (the admin API, the Prometheus scrape),
 * never on the hot path.
 */
import type { AffinityStats } from "../affinity/affinity.js";
import type { BackendSnapshot } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { BreakerSet } from "../health/breakers.js";
import type { BreakerState } from "../health/circuit-breaker.js";
import type { BackendHealth, HealthMonitor } from "../health/health-monitor.js";
import type { Admission } from "./admission.js";
import type { BalancerCounters } from "./counters.js";

export interface BalancerStats {
  algorithm: string;
  decisions: number;
  /** Mean time to choose a backend, in ns. */
  meanSelectionNs: number;
  /** Requests refused because no backend was ready. */
  noBackend: number;
  /** Requests routed in panic mode (no backend ready, sent anyway). */
  panicRouted: number;
  /** Attempts moved to a next candidate after a failure. */
  failovers: number;
  /** Time from a request's first pick to its failover, summed over failovers (ms). */
  failoverMsTotal: number;
  /** Mean of that time (DWCP's average failover time), ms; 0 before any failover. */
  meanFailoverMs: number;
  /** Backends that pass their checks (healthy or degraded) and that do not (unhealthy). */
  healthyBackends: number;
  unhealthyBackends: number;
  /** Extra attempts opened beside a slow one (hedged requests). */
  hedges: number;
  /** Times a circuit breaker opened. */
  breakerOpenings: number;
  requests: number;
  errors: number;
  inFlight: number;
  backends: (BackendSnapshot & { circuit: BreakerState; health: BackendHealth; sessions?: number })[];
  /** Session affinity figures, when affinity is on (sessions per backend are also on each backend). */
  affinity?: AffinityStats;
}

/** The parts of a balancer its stats are read from. */
export interface StatsSources {
  algorithm: string;
  pool: Pool;
  counters: BalancerCounters;
  admission: Admission;
  breakers: BreakerSet | undefined;
  health: HealthMonitor;
  affinity: AffinityStats | undefined;
}

export function balancerStats(sources: StatsSources): BalancerStats {
  const { counters, affinity } = sources;
  let inFlight = 0;
  let healthy = 0;
  let unhealthy = 0;
  const backends = sources.pool.backends.map((backend) => {
    inFlight += backend.inFlight;
    if (backend.state === "healthy" || backend.state === "degraded") healthy++;
    else if (backend.state === "unhealthy") unhealthy++;
    const entry = {
      ...backend.toJSON(),
      circuit: sources.breakers?.state(backend) ?? ("closed" as const),
      health: sources.health.details(backend),
    };
    return affinity === undefined
      ? entry
      : { ...entry, sessions: affinity.sessionsByBackend[backend.id] ?? 0 };
  });
  return {
    algorithm: sources.algorithm,
    decisions: counters.decisions,
    meanSelectionNs: counters.meanSelectionNs,
    noBackend: counters.noBackend,
    panicRouted: sources.admission.panicRouted,
    failovers: counters.failovers,
    failoverMsTotal: Math.round(counters.failoverMsTotal * 1000) / 1000,
    meanFailoverMs: Math.round(counters.meanFailoverMs * 1000) / 1000,
    healthyBackends: healthy,
    unhealthyBackends: unhealthy,
    hedges: counters.hedges,
    breakerOpenings: sources.breakers?.openings ?? 0,
    requests: counters.requests,
    errors: counters.errors,
    inFlight,
    backends,
    ...(affinity === undefined ? {} : { affinity }),
  };
}

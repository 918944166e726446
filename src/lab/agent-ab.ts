/**
 * SwarmGuard's A/B with agents, simulated: backends with uneven background CPU
 * load (the `uneven-load` scenario) behind the real routing engine, with a
 * simulated monitoring agent per backend feeding the pool's
 * `ResourceReportStore`, so `metrics`, `hybrid` and `resource-aware` run for
 * real through `select()` and `finish()`. It is a `Simulation` with agents on
 * (the server model, the event loop and the agents' CPU model are the
 * simulator's: simulator.ts, sim-agents.ts); this file picks the defaults and
 * derives SwarmGuard's figures from the run.
 *
 * Load variance, SwarmGuard's criterion: the coefficient of variation (population
 * standard deviation / mean, in percent) of the backends' mean CPU utilisation
 * over the arrival window, background included, i.e. of what the agents
 * report. Under 15% means the replicas are about equally busy.
 *
 * Decision time is the balancer's own `meanSelectionNs` (wall-clock time spent
 * in `select()`, metric reads included).
 */
import type { AlgorithmSpec } from "../algorithms/registry.js";
import { loadSpread, round3 } from "./run-results.js";
import { getScenario, type ScenarioDefinition } from "./scenarios.js";
import type { SimAgents } from "./sim-agents.js";
import { Simulation } from "./simulator.js";

export interface AgentAbOptions {
  /** Default the built-in `uneven-load`. */
  scenario?: ScenarioDefinition;
  algorithm: AlgorithmSpec;
  /** Label in the result; default the algorithm's name. */
  label?: string;
  /** Default 20 000. */
  requests?: number;
  /** Default 1. */
  seed?: number;
  /** How often the agents report, simulated ms; default 1000. */
  pollIntervalMs?: number;
  /** The store's stale limit, ms; default 2000. */
  ttlMs?: number;
  /** Bytes sent per response, for the network figure; default 16 KiB. */
  responseBytes?: number;
}

export interface AgentAbBackend {
  id: string;
  /** Background CPU load, percent. */
  backgroundPercent: number;
  requests: number;
  /** Share of all routed requests. */
  share: number;
  /** Mean CPU utilisation over the arrival window, background included, percent. */
  cpuPercent: number;
  /** Requests still queued at the end of the arrival window (backlog). */
  backlogAtEnd: number;
}

export interface AgentAbResult {
  scenario: string;
  algorithm: string;
  seed: number;
  requests: number;
  durationMs: number;
  backends: AgentAbBackend[];
  /** CV of the backends' mean CPU utilisation, percent (SwarmGuard: under 15). */
  loadVariancePercent: number;
  /** Highest minus lowest mean CPU utilisation, percentage points. */
  loadSpreadPoints: number;
  latencyMs: { mean: number; p50: number; p99: number };
  /** Mean wall-clock time of one `select()`, ns. */
  meanDecisionNs: number;
  /** Picks made by the round-robin fallback (no fresh reports). */
  fallbacks: number;
  /** Fresh metric reads / reads. */
  cacheHitRate: number;
}

/** Runs the A/B for one algorithm. */
export function runAgentAb(options: AgentAbOptions): AgentAbResult {
  const scenario = options.scenario ?? getScenario("uneven-load");
  const requests = options.requests ?? 20_000;
  const simulation = new Simulation({
    scenario,
    algorithm: options.algorithm,
    label: options.label,
    requests,
    seed: options.seed ?? 1,
    agents: {
      pollIntervalMs: options.pollIntervalMs,
      ttlMs: options.ttlMs,
      responseBytes: options.responseBytes,
    },
  });
  const run = simulation.run();
  const agents = simulation.agents as SimAgents;
  const window = agents.arrivalWindow;
  if (!window) throw new Error("the simulation ended before its last arrival");
  const backends = scenario.backends.map((spec, i) => {
    const routed = run.backends[i]?.routed ?? 0;
    return {
      id: spec.id,
      backgroundPercent: round3((spec.backgroundLoad ?? 0) * 100),
      requests: routed,
      share: round3(routed / requests),
      cpuPercent: round3(window.backends[i]?.cpuPercent ?? 0),
      backlogAtEnd: window.backends[i]?.backlog ?? 0,
    };
  });
  const cpu = backends.map((backend) => backend.cpuPercent);
  const cache = agents.store.stats();
  return {
    scenario: run.scenario,
    algorithm: run.algorithm,
    seed: run.seed,
    requests,
    durationMs: Math.round(window.endMs),
    backends,
    loadVariancePercent: round3(loadSpread(cpu).cv * 100),
    loadSpreadPoints: round3(Math.max(...cpu) - Math.min(...cpu)),
    latencyMs: { mean: run.latency.mean, p50: run.latency.p50, p99: run.latency.p99 },
    meanDecisionNs: simulation.balancer.stats().meanSelectionNs,
    fallbacks: cache.fallbacks,
    cacheHitRate: round3(cache.hitRate),
  };
}

/**
 * The algorithms SwarmGuard compares; hybrid's leases end with their requests
 * (lease count = in-flight work). The simulated and the live A/B (bench/agent-ab.js) both run these.
 */
export const AGENT_AB_ALGORITHMS: readonly { label: string; algorithm: AlgorithmSpec }[] = [
  { label: "round-robin", algorithm: "round-robin" },
  { label: "metrics", algorithm: "metrics" },
  { label: "hybrid", algorithm: { name: "hybrid", releaseOnFinish: true } },
  { label: "hybrid (30 s leases)", algorithm: "hybrid" },
  // SwarmGuard's literal rule: the raw figures, all traffic to one backend per report.
  { label: "metrics (no prediction)", algorithm: { name: "metrics", predict: false } },
];

/** Runs every algorithm of `AGENT_AB_ALGORITHMS` (or those given) on the same arrivals. */
export function compareAgentAb(
  options: Omit<AgentAbOptions, "algorithm" | "label"> & {
    algorithms?: readonly { label: string; algorithm: AlgorithmSpec }[];
  } = {},
): AgentAbResult[] {
  return (options.algorithms ?? AGENT_AB_ALGORITHMS).map(({ label, algorithm }) =>
    runAgentAb({ ...options, algorithm, label }),
  );
}

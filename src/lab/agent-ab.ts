/**
 * SwarmGuard's A/B with agents, simulated: backends with uneven background CPU
 * load (the `uneven-load` scenario) behind the real routing engine, with a
 * simulated monitoring agent per backend feeding the pool's
 * `BackendMetricsStore`, so `metrics`, `hybrid` and `resource-aware` run for
 * real through `select()` and `finish()`.
 *
 * Model:
 * - Poisson arrivals at the scenario's rate; each backend serves `capacity`
 *   requests at once (more wait FIFO); a request's service time is drawn from
 *   the backend's distribution, which already carries the stretch of its
 *   background load (`1 / (1 - load)`).
 * - CPU: a backend's CPU is `backgroundLoad` busy with other work; its
 *   requests use the rest in proportion to the busy slots. So its utilisation
 *   over an interval is `load + (1 - load) · busySlotTime / (capacity · interval)`.
 * - Agents: every `pollIntervalMs` (1 s, as in SwarmGuard) of simulated time each
 *   agent reports the CPU utilisation over the interval just ended, memory
 *   (a base of 30% plus 10% at full request load) and network (responses of
 *   `responseBytes` per completion), written to the store at that instant.
 *   The store's clock is the simulation clock and its TTL the stale limit, so
 *   the algorithms read these figures exactly as they would the poller's.
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
import { createBalancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import { BackendMetricsStore } from "../load/backend-metrics.js";
import { exponentialQuantile, keyContext, randomStreams, ServiceTime } from "./distributions.js";
import { EventQueue } from "./event-queue.js";
import { loadSpread, quantilesInPlace, round3 } from "./metrics.js";
import { arrivalRateRps, getScenario, type ScenarioDefinition } from "./scenarios.js";

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
  /** Picks made by the round-robin fallback (no fresh metrics). */
  fallbacks: number;
  /** Fresh metric reads / reads. */
  cacheHitRate: number;
}

// Event kinds.
const ARRIVAL = 0;
const COMPLETE = 1;
const REPORT = 2;

interface SimServer {
  id: string;
  backend: Backend;
  capacity: number;
  load: number;
  service: ServiceTime;
  busy: number;
  queue: number[];
  queueHead: number;
  lastChange: number;
  /** Busy slot-ms since the last report, and over the arrival window. */
  busyWindow: number;
  busyTotal: number;
  completedWindow: number;
  routed: number;
  backlogAtEnd: number;
}

/** Runs the A/B for one algorithm. */
export function runAgentAb(options: AgentAbOptions): AgentAbResult {
  const scenario = options.scenario ?? getScenario("uneven-load");
  const requests = options.requests ?? 20_000;
  const seed = options.seed ?? 1;
  const pollMs = options.pollIntervalMs ?? 1000;
  const responseBytes = options.responseBytes ?? 16 * 1024;
  if (!(Number.isInteger(requests) && requests > 0))
    throw new RangeError("requests must be a positive integer");

  let time = 0;
  const random = randomStreams(seed);
  const store = new BackendMetricsStore({ ttlMs: options.ttlMs ?? 2000, now: () => time });
  const balancer = createBalancer({
    backends: scenario.backends.map((spec, i) => ({
      id: spec.id,
      address: `10.0.0.${i + 1}:8080`,
      weight: spec.weight ?? 1,
    })),
    algorithm: options.algorithm,
    random: random.balancer,
    now: () => time,
    metricsStore: store,
  });
  const servers: SimServer[] = scenario.backends.map((spec) => ({
    id: spec.id,
    backend: balancer.pool.require(spec.id),
    capacity: spec.capacity,
    load: spec.backgroundLoad ?? 0,
    service: new ServiceTime(spec.service),
    busy: 0,
    queue: [],
    queueHead: 0,
    lastChange: 0,
    busyWindow: 0,
    busyTotal: 0,
    completedWindow: 0,
    routed: 0,
    backlogAtEnd: 0,
  }));
  const byBackend = new Map(servers.map((server, i) => [server.backend, i]));
  const meanGapMs = 1000 / arrivalRateRps(scenario);
  const contexts = Array.from({ length: 64 }, (_, key) => keyContext(key));

  const decisions: (Decision | undefined)[] = [];
  const arrivals: number[] = [];
  const sizes: number[] = [];
  const latencies = new Float64Array(requests);
  let arrived = 0;
  let completed = 0;
  let arrivalsEnd = Number.POSITIVE_INFINITY;

  const queue = new EventQueue();
  /** Accrues busy slot-time up to `now` (the arrival window bounds the total). */
  const accrue = (server: SimServer, now: number) => {
    const dt = now - server.lastChange;
    server.busyWindow += server.busy * dt;
    const totalEnd = Math.min(now, arrivalsEnd);
    if (totalEnd > server.lastChange) server.busyTotal += server.busy * (totalEnd - server.lastChange);
    server.lastChange = now;
  };
  const start = (server: SimServer, index: number, slot: number) => {
    accrue(server, time);
    server.busy++;
    queue.push(time + server.service.quantile(sizes[slot] as number), COMPLETE, index, slot);
  };

  queue.push(exponentialQuantile(random.arrivals(), meanGapMs), ARRIVAL, 0, 0);
  queue.push(pollMs, REPORT, 0, 0);
  while (queue.pop()) {
    time = queue.time;
    if (queue.kind === ARRIVAL) {
      const slot = arrived++;
      if (arrived < requests)
        queue.push(time + exponentialQuantile(random.arrivals(), meanGapMs), ARRIVAL, 0, 0);
      else {
        arrivalsEnd = time;
        for (const server of servers) server.backlogAtEnd = server.queue.length - server.queueHead;
      }
      const decision = balancer.select(contexts[slot % contexts.length] as (typeof contexts)[number]);
      decisions[slot] = decision;
      arrivals[slot] = time;
      sizes[slot] = random.sizes();
      const index = byBackend.get(decision.backend) as number;
      const server = servers[index] as SimServer;
      server.routed++;
      if (server.busy < server.capacity) start(server, index, slot);
      else server.queue.push(slot);
    } else if (queue.kind === COMPLETE) {
      const index = queue.a;
      const slot = queue.b;
      const server = servers[index] as SimServer;
      accrue(server, time);
      server.busy--;
      server.completedWindow++;
      const latencyMs = time - (arrivals[slot] as number);
      latencies[completed++] = latencyMs;
      (decisions[slot] as Decision).finish({ status: 200, latencyMs });
      decisions[slot] = undefined;
      if (server.queueHead < server.queue.length) {
        start(server, index, server.queue[server.queueHead++] as number);
        if (server.queueHead > 1024 && server.queueHead * 2 > server.queue.length) {
          server.queue.splice(0, server.queueHead);
          server.queueHead = 0;
        }
      }
    } else {
      // Every agent reports the interval just ended.
      for (const server of servers) {
        accrue(server, time);
        const busyFraction = server.busyWindow / (server.capacity * pollMs);
        store.write(
          server.id,
          {
            cpu: 100 * (server.load + (1 - server.load) * busyFraction),
            memory: 30 + 10 * busyFraction,
            network: (server.completedWindow * responseBytes * 1000) / pollMs,
          },
          time,
        );
        server.busyWindow = 0;
        server.completedWindow = 0;
      }
      if (completed < requests) queue.push(time + pollMs, REPORT, 0, 0);
    }
  }

  const durationMs = arrivalsEnd;
  const backends = servers.map((server) => ({
    id: server.id,
    backgroundPercent: round3(server.load * 100),
    requests: server.routed,
    share: round3(server.routed / requests),
    cpuPercent: round3(
      100 * (server.load + ((1 - server.load) * server.busyTotal) / (server.capacity * durationMs)),
    ),
    backlogAtEnd: server.backlogAtEnd,
  }));
  const cpu = backends.map((backend) => backend.cpuPercent);
  const stats = balancer.stats();
  const cache = store.stats();
  const [p50, p99] = quantilesInPlace(latencies.subarray(0, completed), [0.5, 0.99]);
  let latencySum = 0;
  for (let i = 0; i < completed; i++) latencySum += latencies[i] as number;
  void balancer.stop();
  return {
    scenario: scenario.name,
    algorithm:
      options.label ?? (typeof options.algorithm === "string" ? options.algorithm : options.algorithm.name),
    seed,
    requests,
    durationMs: Math.round(durationMs),
    backends,
    loadVariancePercent: round3(loadSpread(cpu).cv * 100),
    loadSpreadPoints: round3(Math.max(...cpu) - Math.min(...cpu)),
    latencyMs: { mean: round3(latencySum / completed), p50: round3(p50 ?? 0), p99: round3(p99 ?? 0) },
    meanDecisionNs: stats.meanSelectionNs,
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

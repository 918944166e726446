/**
 * Discrete-event simulator of a proxy in front of simulated backends, driving
 * the real routing engine: every request goes through `Balancer.select()`,
 * its attempt is finished with the simulated latency, and failover walks
 * `decision.next()` as the proxy does (at most 3 retries; a request fails for
 * the client only when every candidate failed). The balancer's clock is the
 * simulation clock and its random source a seeded stream, so a run is a pure
 * function of (scenario, algorithm, requests, seed).
 *
 * Model:
 * - Clients: Poisson arrivals at the scenario's rate; each request has a key
 *   (uniform or Zipf) carried in `x-key`, the path `/item/<key>`, a `key`
 *   cookie and a client IP derived from it, so hash algorithms keyed on any of
 *   them see it; and a size (a service-time quantile, the same on any backend).
 * - Backends: `capacity` requests in service at once, more wait FIFO; service
 *   time from the backend's distribution, times the slow-down factor in force
 *   when service starts.
 * - Failure episode: at its start the requests in the backend are reset; until
 *   its end every attempt sent there fails after `connectErrorMs`.
 * - Passive detection: after `failThreshold` (3) consecutive failed attempts on
 *   a backend the simulated proxy marks it unhealthy in the pool; it is marked
 *   healthy again `recoveryDelayMs` (1 s, an active check's rise) after the
 *   episode ends.
 * - Outcome reported to the balancer: the attempt's own latency (from sending
 *   it, queueing included); for a first attempt that is the time from arrival.
 * - Hedging, when the algorithm hedges (ALPHA1, via `balancer.hedging`): at
 *   arrival an idempotent request is given the policy's delay; if its first
 *   attempt is still that same attempt (not failed over) and unanswered when
 *   the delay is up, and the budget allows, `decision.hedge()` opens a second
 *   attempt on the next candidate. The first answer is the request's; the
 *   other attempt is finished with HEDGE_CANCELLED. A cancelled attempt still
 *   waiting in its backend's queue (or connecting) is dropped there and never
 *   served; one already in service keeps its place until its service time is
 *   over (the backend notices the cancel only when it is done), so losers cost
 *   capacity as they would on a real server. Which attempt won is reported
 *   to the policy (`settled`), as the proxy would. While both attempts are
 *   open, a failed one just ends: the other carries the request; failover
 *   happens only when no other attempt is open. On backends with
 *   `variability: "backend"` a hedge (or failover) draws its own service
 *   time; otherwise it takes as long as the first try would.
 * - Load probes (Prequal): answered `probeDelayMs` after they are sent, from
 *   the backend's requests in service and waiting and its recent latency at
 *   that many (sim-probes.ts).
 * - Monitoring agents, when `agents` is given: every poll interval each
 *   reports its backend's CPU, memory and network over the interval into the
 *   pool's metrics store (sim-agents.ts), as long as requests are open.
 *
 * Events live in a typed-array heap and requests in a typed-array table, so the
 * loop allocates only what the balancer API itself does (a Decision and an
 * outcome per request).
 */
import { performance } from "node:perf_hooks";
import type { AlgorithmSpec } from "../algorithms/registry.js";
import { type Balancer, createBalancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { HEDGE_CANCELLED, type Outcome } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import {
  exponentialQuantile,
  KeySampler,
  keyContext,
  type RandomStreams,
  randomStreams,
} from "./distributions.js";
import { EventQueue } from "./event-queue.js";
import type { LabEvent, SimulationResult } from "./metrics.js";
import { CONNECTING, ORPHAN, QUEUED, RequestTable, SERVING } from "./request-table.js";
import { RunRecorder } from "./run-recorder.js";
import { arrivalRateRps, type EpisodeSpec, type ScenarioDefinition } from "./scenarios.js";
import { type AgentsConfig, SimAgents } from "./sim-agents.js";
import { SimBackend } from "./sim-backend.js";
import { DEFAULT_PROBE_DELAY_MS, SimProbes } from "./sim-probes.js";

export interface SimulationConfig {
  scenario: ScenarioDefinition;
  algorithm: AlgorithmSpec;
  /** Label for the result; default the spec's name. */
  label?: string;
  requests: number;
  seed: number;
  /** Keep every attempt's dispatch time per backend in `result.routing`. */
  recordRouting?: boolean;
  /** Buckets of the latency timeline; default 40. */
  timelineBuckets?: number;
  /** Round trip of a load probe, ms; default 0.5. */
  probeDelayMs?: number;
  /** Runs a monitoring agent per backend feeding the pool's metrics store; default none. */
  agents?: AgentsConfig;
}

/** Failovers per request, as the proxy (DESIGN: at most 3 retries). */
export const MAX_RETRIES = 3;
const DEFAULT_FAIL_THRESHOLD = 3;
const DEFAULT_RECOVERY_DELAY_MS = 1000;

// Event kinds.
const ARRIVAL = 0;
const COMPLETE = 1;
const ATTEMPT_FAILED = 2;
const EPISODE_START = 3;
const EPISODE_END = 4;
const JOIN = 5;
const MARK_UP = 6;
const HEDGE = 7;
const PROBE_REPLY = 8;
const AGENT_REPORT = 9;

interface Episode {
  spec: EpisodeSpec;
  backend: SimBackend;
}

export class Simulation {
  readonly config: SimulationConfig;
  /** The simulation clock, ms: the balancer's `now`. */
  time = 0;
  readonly balancer: Balancer;
  /** The monitoring agents, when `config.agents` asks for them. */
  readonly agents: SimAgents | undefined;

  #queue = new EventQueue();
  #requests = new RequestTable();
  #random: RandomStreams;
  #keys: KeySampler;
  /** One request context per key, built up front and shared by that key's requests (selectors only read it). */
  #contexts: RequestContext[];
  #backends: SimBackend[];
  #byBackend = new Map<Backend, SimBackend>();
  #episodes: Episode[];
  #rateRps: number;
  #meanGapMs: number;
  #durationMs: number;
  #failThreshold: number;
  #recoveryDelayMs: number;
  #arrived = 0;
  #recorder: RunRecorder;
  /** The algorithm's hedging controls (`balancer.hedging`); undefined when it does not hedge. */
  #hedging: HedgeController | undefined;
  #probes: SimProbes;

  constructor(config: SimulationConfig) {
    const { scenario, requests } = config;
    if (!(Number.isInteger(requests) && requests > 0))
      throw new RangeError("requests must be a positive integer");
    this.config = config;
    this.#random = randomStreams(config.seed);
    this.#keys = new KeySampler(scenario.keys.count, scenario.keys.zipf ?? 0);
    this.#contexts = Array.from({ length: scenario.keys.count }, (_, key) => keyContext(key));
    this.#rateRps = arrivalRateRps(scenario);
    this.#meanGapMs = 1000 / this.#rateRps;
    this.#durationMs = requests * this.#meanGapMs;
    this.#failThreshold = scenario.detection?.failThreshold ?? DEFAULT_FAIL_THRESHOLD;
    this.#recoveryDelayMs = scenario.detection?.recoveryDelayMs ?? DEFAULT_RECOVERY_DELAY_MS;
    const windows = scenario.remapWindows ?? { before: 0.5, after: 0.5 };
    this.#recorder = new RunRecorder(
      requests,
      scenario.keys.count,
      windows.before * this.#durationMs,
      windows.after * this.#durationMs,
    );
    this.#backends = scenario.backends.map(
      (spec, i) => new SimBackend(i, spec, this.#durationMs, config.recordRouting === true),
    );
    const byId = new Map(this.#backends.map((backend) => [backend.spec.id, backend]));
    this.#episodes = (scenario.episodes ?? []).map((spec) => {
      const backend = byId.get(spec.backend);
      if (!backend) throw new RangeError(`episode names unknown backend "${spec.backend}"`);
      return { spec, backend };
    });
    const initial = this.#backends.filter(
      (backend) => !(backend.spec.joinAt !== undefined && backend.spec.joinAt > 0),
    );
    this.#probes = new SimProbes({
      delayMs: config.probeDelayMs ?? DEFAULT_PROBE_DELAY_MS,
      now: () => this.time,
      schedule: (at, id) => this.#queue.push(at, PROBE_REPLY, id, 0),
      simOf: (backend) => this.#simOf(backend),
    });
    if (config.agents) this.agents = new SimAgents(config.agents, this.#backends, () => this.time);
    this.balancer = createBalancer({
      backends: initial.map((sim) => sim.poolSpec),
      algorithm: config.algorithm,
      random: this.#random.balancer,
      now: () => this.time,
      probes: this.#probes,
      metricsStore: this.agents?.store,
    });
    for (const sim of initial) this.#attach(sim, this.balancer.pool.require(sim.spec.id));
    this.#hedging = this.balancer.hedging;
  }

  /** Runs every arrival to completion and returns the metrics. */
  run(): SimulationResult {
    const started = performance.now();
    const queue = this.#queue;
    for (const backend of this.#backends) {
      if (backend.backend === undefined)
        queue.push((backend.spec.joinAt ?? 0) * this.#durationMs, JOIN, backend.index, 0);
    }
    this.#episodes.forEach((episode, i) => {
      queue.push(episode.spec.from * this.#durationMs, EPISODE_START, i, 0);
      queue.push(episode.spec.to * this.#durationMs, EPISODE_END, i, 0);
    });
    queue.push(this.#nextGap(), ARRIVAL, 0, 0);
    if (this.agents) queue.push(this.agents.pollIntervalMs, AGENT_REPORT, 0, 0);
    while (queue.pop()) {
      this.time = queue.time;
      switch (queue.kind) {
        case ARRIVAL:
          this.#arrive();
          break;
        case COMPLETE:
          this.#complete(queue.a, queue.b);
          break;
        case ATTEMPT_FAILED:
          this.#connectFailed(queue.a, queue.b);
          break;
        case EPISODE_START:
          this.#episodeStart(this.#episodes[queue.a] as Episode);
          break;
        case EPISODE_END:
          this.#episodeEnd(this.#episodes[queue.a] as Episode);
          break;
        case JOIN:
          this.#join(this.#backends[queue.a] as SimBackend);
          break;
        case MARK_UP:
          this.#markUp(this.#backends[queue.a] as SimBackend);
          break;
        case HEDGE:
          this.#hedge(queue.a, queue.b);
          break;
        case PROBE_REPLY:
          this.#probes.deliver(queue.a);
          break;
        case AGENT_REPORT:
          this.#agentReport(this.agents as SimAgents);
          break;
      }
    }
    void this.balancer.stop();
    return this.#result(performance.now() - started);
  }

  #nextGap(): number {
    return exponentialQuantile(this.#random.arrivals(), this.#meanGapMs);
  }

  #arrive(): void {
    const t = this.time;
    const key = this.#keys.sample(this.#random.keys());
    const size = this.#random.sizes();
    if (++this.#arrived < this.config.requests) this.#queue.push(t + this.#nextGap(), ARRIVAL, 0, 0);
    else this.agents?.arrivalsEnded(t);
    let decision: Decision;
    try {
      decision = this.balancer.select(this.#contexts[key] as RequestContext);
    } catch (error) {
      if (!isSwitchyardError(error, ErrorCodes.NO_BACKEND)) throw error;
      this.#recorder.noBackend++;
      this.#recorder.clientError(t);
      return;
    }
    const requests = this.#requests;
    const slot = requests.allocate();
    requests.arrival[slot] = t;
    requests.key[slot] = key;
    requests.size[slot] = size;
    requests.decisions[slot] = decision;
    this.#dispatch(slot, this.#simOf(decision.backend));
    const hedging = this.#hedging;
    if (!hedging) return;
    const delay = hedging.allows(decision.ctx) ? hedging.delayMs() : undefined;
    if (delay !== undefined) this.#queue.push(t + delay, HEDGE, slot, requests.token[slot] as number);
  }

  /** The hedge delay of the attempt `token` in `slot` is up: hedge it if it is still open and the budget allows. */
  #hedge(slot: number, token: number): void {
    const requests = this.#requests;
    const state = requests.state[slot];
    if (requests.token[slot] !== token || (requests.peer[slot] as number) >= 0) return;
    if (state !== CONNECTING && state !== QUEUED && state !== SERVING) return;
    if (!(this.#hedging as HedgeController).acquire()) return;
    const hedge = (requests.decisions[slot] as Decision).hedge();
    if (!hedge) return;
    const second = requests.allocate();
    requests.arrival[second] = requests.arrival[slot] as number;
    requests.key[second] = requests.key[slot] as number;
    requests.size[second] = requests.size[slot] as number;
    requests.retries[second] = requests.retries[slot] as number;
    requests.hedge[second] = 1;
    requests.decisions[second] = hedge;
    requests.peer[second] = slot;
    requests.peer[slot] = second;
    this.#recorder.hedges++;
    this.#dispatch(second, this.#simOf(hedge.backend));
  }

  /** The losing attempt of a hedged request: finished as cancelled, dropped if not yet in service. */
  #cancel(slot: number): void {
    const requests = this.#requests;
    requests.peer[slot] = -1;
    (requests.decisions[slot] as Decision).finish({ error: HEDGE_CANCELLED });
    requests.decisions[slot] = undefined;
    if (requests.state[slot] === CONNECTING) {
      requests.token[slot] = (requests.token[slot] as number) + 1;
      requests.release(slot);
    } else {
      requests.state[slot] = ORPHAN;
    }
  }

  #dispatch(slot: number, sim: SimBackend): void {
    const t = this.time;
    const requests = this.#requests;
    requests.backend[slot] = sim.index;
    requests.attemptStart[slot] = t;
    const token = (requests.token[slot] as number) + 1;
    requests.token[slot] = token;
    sim.countDispatch(t);
    requests.rifAtArrival[slot] = sim.rif;
    if (sim.failing > 0) {
      requests.state[slot] = CONNECTING;
      this.#queue.push(t + sim.connectErrorMs, ATTEMPT_FAILED, slot, token);
    } else if (sim.busy < sim.spec.capacity) {
      this.#startService(slot, sim);
    } else {
      requests.state[slot] = QUEUED;
      sim.queue.push(slot);
    }
  }

  #startService(slot: number, sim: SimBackend): void {
    const requests = this.#requests;
    sim.setBusy(sim.busy + 1, this.time);
    requests.state[slot] = SERVING;
    const fresh =
      sim.spec.variability === "backend" &&
      ((requests.hedge[slot] as number) === 1 || (requests.retries[slot] as number) > 0);
    const quantile = fresh ? this.#random.attempts() : (requests.size[slot] as number);
    const serviceMs = sim.service.quantile(quantile) * sim.slowFactor;
    this.#queue.push(this.time + serviceMs, COMPLETE, slot, requests.token[slot] as number);
  }

  #complete(slot: number, token: number): void {
    const requests = this.#requests;
    const state = requests.state[slot];
    if ((state !== SERVING && state !== ORPHAN) || requests.token[slot] !== token) return;
    const sim = this.#backends[requests.backend[slot] as number] as SimBackend;
    sim.setBusy(sim.busy - 1, this.time);
    sim.latency.observe(
      requests.rifAtArrival[slot] as number,
      this.time - (requests.attemptStart[slot] as number),
    );
    if (state === ORPHAN) requests.release(slot);
    else this.#succeed(slot, sim);
    this.#startNext(sim);
  }

  /** A place is free at `sim`: serve the oldest waiting attempt, dropping cancelled ones. */
  #startNext(sim: SimBackend): void {
    if (sim.failing > 0) return;
    const requests = this.#requests;
    for (let slot = sim.queue.shift(); slot >= 0; slot = sim.queue.shift()) {
      if (requests.state[slot] === ORPHAN) {
        requests.release(slot);
        continue;
      }
      this.#startService(slot, sim);
      return;
    }
  }

  #succeed(slot: number, sim: SimBackend): void {
    const t = this.time;
    const requests = this.#requests;
    const outcome: Outcome = { status: 200, latencyMs: t - (requests.attemptStart[slot] as number) };
    (requests.decisions[slot] as Decision).finish(outcome);
    sim.consecutiveFailures = 0;
    sim.served++;
    this.#recorder.success(requests.arrival[slot] as number, t, requests.key[slot] as number, sim.index);
    const peer = requests.peer[slot] as number;
    if (peer >= 0) {
      this.#cancel(peer);
      this.#hedging?.settled(requests.hedge[slot] === 1);
    }
    requests.release(slot);
  }

  #connectFailed(slot: number, token: number): void {
    const requests = this.#requests;
    if (requests.state[slot] !== CONNECTING || requests.token[slot] !== token) return;
    this.#attemptFailed(
      slot,
      this.#backends[requests.backend[slot] as number] as SimBackend,
      "connect refused",
    );
  }

  /**
   * Closes a failed attempt, feeds passive detection, and fails over or gives
   * up; an attempt whose hedge twin is still open just ends.
   */
  #attemptFailed(slot: number, sim: SimBackend, error: string): void {
    const requests = this.#requests;
    const decision = requests.decisions[slot] as Decision;
    const outcome: Outcome = { error, latencyMs: this.time - (requests.attemptStart[slot] as number) };
    decision.finish(outcome);
    sim.failedAttempts++;
    if (++sim.consecutiveFailures >= this.#failThreshold && sim.backend?.ready) {
      this.balancer.pool.setState(sim.spec.id, "unhealthy");
      this.#event(sim, "marked-down");
    }
    const peer = requests.peer[slot] as number;
    if (peer >= 0) {
      requests.peer[peer] = -1;
      requests.release(slot);
      return;
    }
    if ((requests.retries[slot] as number) < MAX_RETRIES) {
      const next = decision.next();
      if (next) {
        requests.retries[slot] = (requests.retries[slot] as number) + 1;
        this.#recorder.retries++;
        this.#dispatch(slot, this.#simOf(next));
        return;
      }
    }
    this.#recorder.clientError(requests.arrival[slot] as number);
    requests.release(slot);
  }

  #episodeStart(episode: Episode): void {
    const { spec, backend: sim } = episode;
    if (spec.kind === "slowdown") {
      sim.slowFactor *= spec.factor;
      this.#event(sim, "slowdown-start");
      return;
    }
    sim.connectErrorMs = spec.connectErrorMs ?? 1;
    this.#event(sim, "failure-start");
    if (sim.failing++ > 0) return;
    sim.updateAlive(this.time);
    this.#crash(sim);
  }

  /**
   * The backend dies: every request queued or in service on it is reset (and
   * may fail over); cancelled hedges still there are simply gone.
   */
  #crash(sim: SimBackend): void {
    const requests = this.#requests;
    const victims: number[] = [];
    for (let slot = sim.queue.shift(); slot >= 0; slot = sim.queue.shift()) {
      if (requests.state[slot] === ORPHAN) requests.release(slot);
      else victims.push(slot);
    }
    for (let slot = 0; slot < requests.capacity; slot++) {
      if (requests.backend[slot] !== sim.index) continue;
      if (requests.state[slot] === SERVING) victims.push(slot);
      else if (requests.state[slot] === ORPHAN) {
        requests.token[slot] = (requests.token[slot] as number) + 1;
        requests.release(slot);
      }
    }
    sim.setBusy(0, this.time);
    for (const slot of victims) {
      requests.token[slot] = (requests.token[slot] as number) + 1;
      this.#attemptFailed(slot, sim, "connection reset");
    }
  }

  #episodeEnd(episode: Episode): void {
    const { spec, backend: sim } = episode;
    if (spec.kind === "slowdown") {
      sim.slowFactor /= spec.factor;
      this.#event(sim, "slowdown-end");
      return;
    }
    this.#event(sim, "failure-end");
    if (--sim.failing > 0) return;
    sim.updateAlive(this.time);
    this.#queue.push(this.time + this.#recoveryDelayMs, MARK_UP, sim.index, 0);
  }

  #markUp(sim: SimBackend): void {
    if (sim.failing > 0 || sim.backend?.state !== "unhealthy") return;
    sim.consecutiveFailures = 0;
    this.balancer.pool.setState(sim.spec.id, "healthy");
    this.#event(sim, "marked-up");
  }

  #join(sim: SimBackend): void {
    this.#attach(sim, this.balancer.pool.add(sim.poolSpec));
    this.#event(sim, "joined");
  }

  #attach(sim: SimBackend, backend: Backend): void {
    sim.backend = backend;
    this.#byBackend.set(backend, sim);
    sim.updateAlive(this.time);
  }

  #simOf(backend: Backend): SimBackend {
    const sim = this.#byBackend.get(backend);
    if (!sim) throw new Error(`balancer chose backend "${backend.id}" unknown to the simulation`);
    return sim;
  }

  /** The agents report; the next report is due while requests are still open. */
  #agentReport(agents: SimAgents): void {
    agents.report(this.time);
    if (this.#recorder.settled < this.config.requests)
      this.#queue.push(this.time + agents.pollIntervalMs, AGENT_REPORT, 0, 0);
  }

  #event(sim: SimBackend, kind: LabEvent["kind"]): void {
    this.#recorder.event(this.time, sim.spec.id, kind);
  }

  #result(wallMs: number): SimulationResult {
    const { config } = this;
    for (const sim of this.#backends) sim.updateAlive(this.#durationMs, true);
    const result = this.#recorder.result(
      {
        scenario: config.scenario.name,
        algorithm:
          config.label ?? (typeof config.algorithm === "string" ? config.algorithm : config.algorithm.name),
        seed: config.seed,
        requests: config.requests,
        arrivalRateRps: this.#rateRps,
        durationMs: this.#durationMs,
        timelineBuckets: config.timelineBuckets ?? 40,
        recordRouting: config.recordRouting === true,
      },
      this.#backends,
      wallMs,
    );
    // Asked of the algorithm itself, so the report cannot drift from what the run did.
    const fallback = this.balancer.fallback();
    if (fallback && fallback.picks > 0) result.fallback = fallback;
    return result;
  }
}

/** Runs one simulation (see `Simulation`). */
export function simulate(config: SimulationConfig): SimulationResult {
  return new Simulation(config).run();
}

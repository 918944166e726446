/**
 * Discrete-event simulator of a proxy in front of simulated backends, driving
 * the real routing engine: every request goes through `Balancer.select()`,
 * its attempt is finished with the simulated latency, and failover walks
 * `decision.next()` as the proxy does (at most 3 retries; a request fails for
 * the client only when every candidate failed). The balancer's clock is the
 * simulation clock and its random source a seeded stream, so a run is a pure
 * function of (scenario, algorithm, requests, seed). One event loop (this
 * file; the event kinds are in sim-events.ts) drives every part of the model.
 *
 * Model:
 * - Clients: Poisson arrivals at the scenario's rate; each request has a key
 *   (uniform or Zipf) carried in `x-key`, the path `/item/<key>`, a `key`
 *   cookie and a client IP derived from it, so hash algorithms keyed on any of
 *   them see it; and a size (a service-time quantile, the same on any backend).
 * - Requests (sim-requests.ts): each is picked, sent, queued FIFO and served
 *   at its backend (`capacity` at once, service time from the backend's
 *   distribution times the slow-down in force), failed over and hedged as the
 *   proxy does; its outcome is reported to the balancer.
 * - Failure episode: at its start the requests in the backend are reset; until
 *   its end every attempt sent there fails after `connectErrorMs`.
 * - Passive detection: after `failThreshold` (3) consecutive failed attempts on
 *   a backend the simulated proxy marks it unhealthy in the pool; it is marked
 *   healthy again `recoveryDelayMs` (1 s, an active check's rise) after the
 *   episode ends.
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
import { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import {
  exponentialQuantile,
  KeySampler,
  keyContext,
  type RandomStreams,
  randomStreams,
} from "./distributions.js";
import { EventQueue } from "./event-queue.js";
import { RunRecorder } from "./run-recorder.js";
import type { LabEvent, SimulationResult } from "./run-results.js";
import { arrivalRateRps, type EpisodeSpec, type ScenarioDefinition } from "./scenarios.js";
import { type AgentsConfig, SimAgents } from "./sim-agents.js";
import { SimBackend } from "./sim-backend.js";
import {
  AGENT_REPORT,
  ARRIVAL,
  ATTEMPT_FAILED,
  COMPLETE,
  EPISODE_END,
  EPISODE_START,
  HEDGE,
  JOIN,
  MARK_UP,
  PROBE_REPLY,
} from "./sim-events.js";
import { DEFAULT_PROBE_DELAY_MS, SimProbes } from "./sim-probes.js";
import { SimRequests } from "./sim-requests.js";

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

export { MAX_RETRIES } from "./sim-requests.js";

const DEFAULT_FAIL_THRESHOLD = 3;
const DEFAULT_RECOVERY_DELAY_MS = 1000;

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
  #requests: SimRequests;
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
  #recoveryDelayMs: number;
  #arrived = 0;
  #recorder: RunRecorder;
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
    this.balancer = new Balancer({
      backends: initial.map((sim) => sim.poolSpec),
      algorithm: config.algorithm,
      random: this.#random.balancer,
      now: () => this.time,
      probes: this.#probes,
      resourceReports: this.agents?.store,
    });
    for (const sim of initial) this.#attach(sim, this.balancer.pool.require(sim.spec.id));
    this.#requests = new SimRequests({
      queue: this.#queue,
      now: () => this.time,
      balancer: this.balancer,
      random: this.#random,
      recorder: this.#recorder,
      backends: this.#backends,
      simOf: (backend) => this.#simOf(backend),
      failThreshold: scenario.detection?.failThreshold ?? DEFAULT_FAIL_THRESHOLD,
    });
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
          this.#requests.complete(queue.a, queue.b);
          break;
        case ATTEMPT_FAILED:
          this.#requests.connectFailed(queue.a, queue.b);
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
          this.#requests.hedge(queue.a, queue.b);
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
    this.#requests.arrive(key, size, this.#contexts[key] as RequestContext);
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
    this.#requests.crash(sim);
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

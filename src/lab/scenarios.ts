/**
 * Simulation scenarios: the backends (capacity, service-time distribution,
 * when they join), the client load (a utilization of the starting capacity,
 * key count and skew) and the episodes (slow-downs, failures). Episode and
 * join times are fractions of the run, so a scenario keeps its shape at any
 * request count. The built-in set covers the situations the lab is for:
 * equal backends, one slow backend, a backend degrading, a backend dying and
 * returning, hot keys, scale-out, heavy-tailed backend-side service times,
 * and uneven background load (SwarmGuard's A/B: `agent-ab.ts` runs it with the simulator's agents on).
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { ServiceTime, type ServiceTimeSpec } from "./distributions.js";

export interface SimBackendSpec {
  id: string;
  /** Requests served at once; more wait in a FIFO queue at the backend. */
  capacity: number;
  service: ServiceTimeSpec;
  /** Pool weight; default 1. */
  weight?: number;
  /** Joins the pool at this fraction of the run (scale-out); absent means present from the start. */
  joinAt?: number;
  /**
   * Where service-time variability comes from. "request" (default): a request's
   * service time is its own (its size), the same on any backend and any
   * attempt, so a second try of a heavy request is as slow. "backend": it comes
   * from the backend at the time (GC pauses, noisy neighbours, cold caches), so
   * a hedge or a failover draws its own service time, independent of the first
   * try: the case hedging is for.
   */
  variability?: "request" | "backend";
  /**
   * Share of the backend's CPU taken by work other than its requests
   * (neighbours, batch jobs), in [0, 1). `service` already carries the
   * slow-down; the simulated agents, when a run has them (sim-agents.ts),
   * add it to the CPU figures they report.
   */
  backgroundLoad?: number;
}

export type EpisodeSpec =
  /** Service times of requests started between `from` and `to` (fractions of the run) are multiplied by `factor`. */
  | { kind: "slowdown"; backend: string; from: number; to: number; factor: number }
  /**
   * The backend is down between `from` and `to`: requests in it are reset at
   * `from`, and every attempt sent to it fails after `connectErrorMs` (default 1).
   */
  | { kind: "failure"; backend: string; from: number; to: number; connectErrorMs?: number };

export interface ScenarioDefinition {
  name: string;
  summary: string;
  backends: SimBackendSpec[];
  /** Arrival rate as a fraction of the capacity of the backends present at the start. */
  utilization: number;
  keys: { count: number /** Zipf exponent; 0 or absent for uniform keys. */; zipf?: number };
  episodes?: EpisodeSpec[];
  defaultRequests: number;
  /**
   * Windows compared for "keys remapped" (fractions of the run): a key's
   * backend in [0, before) against its backend in [after, end]. Default the
   * two halves.
   */
  remapWindows?: { before: number; after: number };
  /** Passive detection in the simulated proxy. */
  detection?: { failThreshold?: number; recoveryDelayMs?: number };
}

/** Requests per second the backends present at the start can serve at full utilization. */
export function startingCapacityRps(scenario: ScenarioDefinition): number {
  let rps = 0;
  for (const backend of scenario.backends) {
    if (backend.joinAt !== undefined && backend.joinAt > 0) continue;
    rps += (backend.capacity * 1000) / new ServiceTime(backend.service).meanMs;
  }
  return rps;
}

/** The scenario's Poisson arrival rate, requests per second. */
export function arrivalRateRps(scenario: ScenarioDefinition): number {
  return scenario.utilization * startingCapacityRps(scenario);
}

const CAPACITY = 8;
const fast: ServiceTimeSpec = { kind: "lognormal", meanMs: 10, sigma: 0.6 };

function equalBackends(count: number, service: ServiceTimeSpec = fast, firstId = 1): SimBackendSpec[] {
  return Array.from({ length: count }, (_, i) => ({ id: `b${firstId + i}`, capacity: CAPACITY, service }));
}

/** Service time of a request on an idle core; background load stretches it. */
const UNEVEN_BASE_MS = 20;

/**
 * A backend whose CPU is `load` busy with other work: a request gets the
 * remaining `1 - load` of it, so its service time is stretched by `1 / (1 - load)`.
 */
function loadedBackend(id: string, load: number): SimBackendSpec {
  return {
    id,
    capacity: 4,
    service: { kind: "lognormal", meanMs: UNEVEN_BASE_MS / (1 - load), sigma: 0.5 },
    backgroundLoad: load,
  };
}

const builtinScenarios: readonly ScenarioDefinition[] = [
  {
    name: "uniform",
    summary: "5 equal backends (exponential 10 ms, 8 at a time), uniform keys, 75% load",
    backends: equalBackends(5, { kind: "exponential", meanMs: 10 }),
    utilization: 0.75,
    keys: { count: 10_000 },
    defaultRequests: 200_000,
  },
  {
    name: "heterogeneous",
    summary: "4 backends at 10 ms and one 5x slower (50 ms), 75% of total capacity",
    backends: [
      ...equalBackends(4),
      { id: "b5", capacity: CAPACITY, service: { kind: "lognormal", meanMs: 50, sigma: 0.6 } },
    ],
    utilization: 0.75,
    keys: { count: 10_000 },
    defaultRequests: 200_000,
  },
  {
    name: "slowdown",
    summary: "5 equal backends; b3 serves 10x slower from 30% to 60% of the run; 75% load",
    backends: equalBackends(5),
    utilization: 0.75,
    keys: { count: 10_000 },
    episodes: [{ kind: "slowdown", backend: "b3", from: 0.3, to: 0.6, factor: 10 }],
    defaultRequests: 200_000,
  },
  {
    name: "failure",
    summary: "5 equal backends; b2 is down from 30% to 60% of the run, then returns; 70% load",
    backends: equalBackends(5),
    utilization: 0.7,
    keys: { count: 10_000 },
    episodes: [{ kind: "failure", backend: "b2", from: 0.3, to: 0.6, connectErrorMs: 1 }],
    remapWindows: { before: 0.3, after: 0.7 },
    detection: { failThreshold: 3, recoveryDelayMs: 1000 },
    defaultRequests: 200_000,
  },
  {
    name: "hot-keys",
    summary:
      "5 equal backends, Zipf keys (s=1.1, 10k keys), bimodal service (90% 5 ms hits, 10% 50 ms misses)",
    backends: equalBackends(5, { kind: "bimodal", fastMs: 5, slowMs: 50, slowFraction: 0.1 }),
    utilization: 0.75,
    keys: { count: 10_000, zipf: 1.1 },
    defaultRequests: 200_000,
  },
  {
    name: "scale-out",
    summary: "4 backends at 80% load; b5 joins at 35% and b6 at 55% of the run",
    backends: [
      ...equalBackends(4),
      { id: "b5", capacity: CAPACITY, service: fast, joinAt: 0.35 },
      { id: "b6", capacity: CAPACITY, service: fast, joinAt: 0.55 },
    ],
    utilization: 0.8,
    keys: { count: 10_000 },
    remapWindows: { before: 0.35, after: 0.55 },
    defaultRequests: 200_000,
  },
  {
    name: "heavy-tail",
    summary:
      "5 equal backends, heavy-tailed service time from the backend (lognormal mean 10 ms, σ 1.5, drawn per attempt), 70% load",
    backends: equalBackends(5, { kind: "lognormal", meanMs: 10, sigma: 1.5 }).map((backend) => ({
      ...backend,
      variability: "backend" as const,
    })),
    utilization: 0.7,
    keys: { count: 10_000 },
    defaultRequests: 200_000,
  },
  {
    name: "uneven-load",
    summary:
      "3 backends with 10% / 50% / 80% background CPU load (service 20 ms stretched 1.1x / 2x / 5x), 70% of the spare capacity",
    backends: [loadedBackend("b1", 0.1), loadedBackend("b2", 0.5), loadedBackend("b3", 0.8)],
    utilization: 0.7,
    keys: { count: 10_000 },
    defaultRequests: 60_000,
  },
];

/** The built-in scenarios, in display order. */
export function listScenarios(): readonly ScenarioDefinition[] {
  return builtinScenarios;
}

/** A built-in scenario by name; throws a coded error naming the choices. */
export function getScenario(name: string): ScenarioDefinition {
  const scenario = builtinScenarios.find((candidate) => candidate.name === name);
  if (!scenario) {
    const names = builtinScenarios.map((candidate) => candidate.name).join(", ");
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `unknown scenario "${name}"; expected one of: ${names}`,
      {
        scenario: name,
      },
    );
  }
  return scenario;
}

/** Checks a scenario's shape; throws a coded error naming the field. */
export function validateScenario(scenario: ScenarioDefinition): void {
  const fail = (field: string, expected: string) => {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `scenario "${scenario.name}": ${field} must be ${expected}`,
      {
        scenario: scenario.name,
        field,
      },
    );
  };
  if (scenario.backends.length === 0) fail("backends", "a non-empty list");
  const ids = new Set<string>();
  for (const backend of scenario.backends) {
    if (ids.has(backend.id)) fail(`backends.${backend.id}`, "unique");
    ids.add(backend.id);
    if (!(Number.isInteger(backend.capacity) && backend.capacity > 0))
      fail(`backends.${backend.id}.capacity`, "a positive integer");
    if (backend.joinAt !== undefined && !(backend.joinAt >= 0 && backend.joinAt < 1))
      fail(`backends.${backend.id}.joinAt`, "in [0, 1)");
    if (
      backend.variability !== undefined &&
      backend.variability !== "request" &&
      backend.variability !== "backend"
    )
      fail(`backends.${backend.id}.variability`, '"request" or "backend"');
    if (backend.backgroundLoad !== undefined && !(backend.backgroundLoad >= 0 && backend.backgroundLoad < 1))
      fail(`backends.${backend.id}.backgroundLoad`, "in [0, 1)");
    try {
      new ServiceTime(backend.service);
    } catch (error) {
      fail(`backends.${backend.id}.service`, `valid (${(error as Error).message})`);
    }
  }
  if (startingCapacityRps(scenario) <= 0) fail("backends", "at least one backend present from the start");
  if (!(scenario.utilization > 0 && scenario.utilization <= 10)) fail("utilization", "in (0, 10]");
  for (const [i, episode] of (scenario.episodes ?? []).entries()) {
    if (!ids.has(episode.backend)) fail(`episodes[${i}].backend`, "the id of a scenario backend");
    if (!(episode.from >= 0 && episode.from < episode.to))
      fail(`episodes[${i}]`, "an interval with 0 ≤ from < to");
    if (episode.kind === "slowdown" && !(episode.factor > 0)) fail(`episodes[${i}].factor`, "positive");
  }
}

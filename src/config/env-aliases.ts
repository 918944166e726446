/**
 * SwarmGuard's environment variables as aliases
 * of config fields, applied with the `SWITCHYARD_*` overrides: file <
 * environment < flags, and where a `SWITCHYARD_*` variable names the same
 * field it wins over the alias. Durations are in seconds, as in SwarmGuard.
 * A malformed value is a configuration error naming the variable.
 *
 * | variable | config field |
 * |---|---|
 * | WORKER_NODES=host[:port],… | the first listener's pool gets one backend per node at host:port (port default 8080), each with `agent.url` http://host:METRICS_PORT (default 8082) |
 * | METRICS_PORT | the agent port of the WORKER_NODES backends |
 * | TARGET_SERVICE | `agent.match` of every backend with an agent |
 * | LB_PORT | the port of the first listener (host kept, default 127.0.0.1) |
 * | LB_ALGORITHM | every pool's `algorithm` (as SWITCHYARD_ALGORITHM) |
 * | LEASE_DURATION | `leaseDurationMs` of lease and hybrid pools |
 * | LEASE_COUNT_WEIGHT | `leaseWeight` of hybrid pools |
 * | CPU_WEIGHT, MEMORY_WEIGHT, NETWORK_WEIGHT | `weights.*` of metrics and hybrid pools |
 * | CACHE_TTL | `agents.cacheTtlMs` of pools with agents |
 * | FALLBACK_ENABLED | `agents.fallback` ("round-robin" when true, "none" when false) |
 * | HEALTH_CHECK_INTERVAL | `healthCheck.intervalMs` of every pool (turns active checks on) |
 * | DEBUG_ROUTING | `log.level: debug` (as SWITCHYARD_LOG_LEVEL): every routing decision, failover, retry and agent poll |
 * | LOG_EVERY_N_REQUESTS | the access log on, one line every N requests (`log.access.sample`) |
 */
import { findAlgorithm } from "../algorithms/registry.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import { parseListenAddress } from "./schema.js";

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_WORKER_SERVICE_PORT = 8080;
export const DEFAULT_METRICS_PORT = 8082;

/** For help texts: SwarmGuard's variables and what each sets. */
export const SWARMGUARD_ENV_ALIASES: readonly { name: string; description: string }[] = [
  {
    name: "WORKER_NODES",
    description:
      "SwarmGuard: comma-separated worker nodes host[:port] (port default 8080) as the backends of the first listener's pool, each polled through its agent at http://host:METRICS_PORT (default 8082); SWITCHYARD_BACKENDS wins",
  },
  { name: "METRICS_PORT", description: "SwarmGuard: agent port of the WORKER_NODES backends (default 8082)" },
  { name: "TARGET_SERVICE", description: "SwarmGuard: agent.match of every backend with an agent" },
  { name: "LB_PORT", description: "SwarmGuard: port of the first listener; SWITCHYARD_LISTEN wins" },
  { name: "LB_ALGORITHM", description: "SwarmGuard: every pool's algorithm; SWITCHYARD_ALGORITHM wins" },
  { name: "LEASE_DURATION", description: "SwarmGuard: lease lifetime in seconds (lease, hybrid)" },
  { name: "LEASE_COUNT_WEIGHT", description: "SwarmGuard: score per live lease (hybrid)" },
  { name: "CPU_WEIGHT", description: "SwarmGuard: weights.cpu of metrics and hybrid" },
  { name: "MEMORY_WEIGHT", description: "SwarmGuard: weights.memory of metrics and hybrid" },
  { name: "NETWORK_WEIGHT", description: "SwarmGuard: weights.network of metrics and hybrid" },
  {
    name: "CACHE_TTL",
    description: "SwarmGuard: agents.cacheTtlMs in seconds (stale limit of agent reports)",
  },
  {
    name: "FALLBACK_ENABLED",
    description: "SwarmGuard: true → agents.fallback round-robin, false → none (pools with agents)",
  },
  {
    name: "HEALTH_CHECK_INTERVAL",
    description: "SwarmGuard: healthCheck.intervalMs in seconds for every pool (turns active checks on)",
  },
  {
    name: "DEBUG_ROUTING",
    description:
      "SwarmGuard: true → log.level debug (every routing decision, failovers, retries, agent polls); SWITCHYARD_LOG_LEVEL wins",
  },
  {
    name: "LOG_EVERY_N_REQUESTS",
    description: "SwarmGuard: turns the access log on, one line every N requests (log.access.sample)",
  },
];

/** The aliases that feed the generic overrides (listen, algorithm, backends, log level). */
export interface SwarmGuardFlags {
  listen?: string;
  algorithm?: string;
  backends?: string[];
  logLevel?: string;
}

/** Reads LB_PORT, LB_ALGORITHM, WORKER_NODES and DEBUG_ROUTING; throws SY_ERR_CONFIG on bad values. */
export function swarmGuardEnvFlags(raw: unknown, env: Env): SwarmGuardFlags {
  const flags: SwarmGuardFlags = {};
  const port = read(env, "LB_PORT");
  if (port !== undefined) {
    const number = Number(port);
    if (!Number.isInteger(number) || number < 0 || number > 65_535) {
      throw invalid("LB_PORT", port, "a port from 0 to 65535");
    }
    const listeners = isRecord(raw) && Array.isArray(raw.listeners) ? raw.listeners : [];
    const first = listeners[0];
    const current =
      isRecord(first) && typeof first.listen === "string" ? parseListenAddress(first.listen) : undefined;
    const host = current?.host ?? "127.0.0.1";
    flags.listen = `${host.includes(":") ? `[${host}]` : host}:${number}`;
  }
  flags.algorithm = read(env, "LB_ALGORITHM");
  const workers = workerNodes(env);
  if (workers) flags.backends = workers.map((worker) => worker.address);
  const debug = read(env, "DEBUG_ROUTING");
  if (debug !== undefined && parseBoolean("DEBUG_ROUTING", debug)) flags.logLevel = "debug";
  return flags;
}

/**
 * Applies the aliases that edit fields inside pools (agents, algorithm
 * options, health checks) to a raw config already carrying the generic
 * overrides; `workersApplied` says WORKER_NODES provided the backends.
 */
export function applySwarmGuardEnvAliases(
  config: Record<string, unknown>,
  env: Env,
  workersApplied: boolean,
): Record<string, unknown> {
  const pools = isRecord(config.pools) ? Object.values(config.pools).filter(isRecord) : [];
  const workers = workersApplied ? workerNodes(env) : undefined;
  if (workers) {
    const agentOf = new Map(workers.map((worker) => [worker.address, worker.agentUrl]));
    for (const backend of pools.flatMap(backendsOf)) {
      const url = typeof backend.address === "string" ? agentOf.get(backend.address) : undefined;
      if (url !== undefined && backend.agent === undefined) backend.agent = { url };
    }
  }
  const service = read(env, "TARGET_SERVICE");
  if (service !== undefined) {
    for (const backend of pools.flatMap(backendsOf))
      if (isRecord(backend.agent)) backend.agent.match = service;
  }

  const cacheTtl = seconds(env, "CACHE_TTL");
  const fallbackText = read(env, "FALLBACK_ENABLED");
  const fallback =
    fallbackText === undefined
      ? undefined
      : parseBoolean("FALLBACK_ENABLED", fallbackText)
        ? "round-robin"
        : "none";
  for (const pool of pools) {
    const hasAgents =
      pool.agents !== undefined || backendsOf(pool).some((backend) => backend.agent !== undefined);
    if (!hasAgents || (cacheTtl === undefined && fallback === undefined)) continue;
    const agents = isRecord(pool.agents) ? pool.agents : {};
    pool.agents = agents;
    if (cacheTtl !== undefined) agents.cacheTtlMs = cacheTtl;
    if (fallback !== undefined) agents.fallback = fallback;
  }

  const leaseDuration = seconds(env, "LEASE_DURATION");
  const leaseWeight = nonNegative(env, "LEASE_COUNT_WEIGHT");
  const weights = {
    cpu: nonNegative(env, "CPU_WEIGHT"),
    memory: nonNegative(env, "MEMORY_WEIGHT"),
    network: nonNegative(env, "NETWORK_WEIGHT"),
  };
  for (const pool of pools) {
    const name = algorithmOf(pool);
    if (name === "lease" || name === "hybrid") setOption(pool, "leaseDurationMs", leaseDuration);
    if (name === "hybrid") setOption(pool, "leaseWeight", leaseWeight);
    if (name === "metrics" || name === "hybrid") {
      for (const [key, value] of Object.entries(weights)) {
        if (value === undefined) continue;
        const spec = algorithmObject(pool);
        const current = isRecord(spec.weights) ? spec.weights : {};
        spec.weights = { ...current, [key]: value };
      }
    }
  }

  const everyN = read(env, "LOG_EVERY_N_REQUESTS");
  if (everyN !== undefined) {
    const sample = Number(everyN);
    if (!Number.isInteger(sample) || sample < 1 || sample > 1_000_000)
      throw invalid("LOG_EVERY_N_REQUESTS", everyN, "a whole number from 1 to 1000000");
    const log = isRecord(config.log) ? config.log : {};
    config.log = { ...log, access: { ...(isRecord(log.access) ? log.access : {}), enabled: true, sample } };
  }

  const healthInterval = seconds(env, "HEALTH_CHECK_INTERVAL");
  if (healthInterval !== undefined) {
    for (const pool of pools) {
      const check = isRecord(pool.healthCheck) ? pool.healthCheck : {};
      pool.healthCheck = check;
      check.intervalMs = healthInterval;
    }
  }
  return config;
}

interface WorkerNode {
  address: string;
  agentUrl: string;
}

function workerNodes(env: Env): WorkerNode[] | undefined {
  const list = read(env, "WORKER_NODES");
  if (list === undefined) return undefined;
  const metricsPortText = read(env, "METRICS_PORT");
  const metricsPort = metricsPortText === undefined ? DEFAULT_METRICS_PORT : Number(metricsPortText);
  if (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65_535) {
    throw invalid("METRICS_PORT", metricsPortText ?? "", "a port from 1 to 65535");
  }
  return list
    .split(/[\s,]+/)
    .filter((item) => item !== "")
    .map((item) => {
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
      if (!match) throw invalid("WORKER_NODES", list, "comma-separated host or host:port entries");
      const host = match[1] as string;
      const port = match[2] ?? String(DEFAULT_WORKER_SERVICE_PORT);
      return { address: `${host}:${port}`, agentUrl: `http://${host}:${metricsPort}` };
    });
}

function backendsOf(pool: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(pool.backends) ? pool.backends.filter(isRecord) : [];
}

/** Canonical name of the pool's algorithm, when it is set and registered. */
function algorithmOf(pool: Record<string, unknown>): string | undefined {
  const spec = pool.algorithm;
  const name =
    typeof spec === "string" ? spec : isRecord(spec) && typeof spec.name === "string" ? spec.name : "";
  return findAlgorithm(name)?.name;
}

/** The pool's algorithm as an object `{ name, ...options }`, converting a bare name in place. */
function algorithmObject(pool: Record<string, unknown>): Record<string, unknown> {
  if (isRecord(pool.algorithm)) return pool.algorithm;
  const spec: Record<string, unknown> = { name: pool.algorithm };
  pool.algorithm = spec;
  return spec;
}

function setOption(pool: Record<string, unknown>, key: string, value: number | undefined): void {
  if (value !== undefined) algorithmObject(pool)[key] = value;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A duration in seconds, as milliseconds (at least 1). */
function seconds(env: Env, name: string): number | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw invalid(name, text, "a number of seconds greater than 0");
  return Math.max(1, Math.round(value * 1000));
}

function nonNegative(env: Env, name: string): number | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw invalid(name, text, "a number of 0 or more");
  return value;
}

function parseBoolean(name: string, text: string): boolean {
  const value = text.toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw invalid(name, text, "true or false");
}

function invalid(name: string, value: string, expected: string): SwitchyardError {
  return new SwitchyardError(
    ErrorCodes.CONFIG,
    `environment variable ${name}: expected ${expected}, got "${value}"`,
    {
      variable: name,
      value,
    },
  );
}

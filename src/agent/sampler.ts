/**
 * The agent's sampler: every `intervalMs` it asks its source (cgroups or
 * processes) for cumulative counters, and turns the difference from the
 * previous sample into rates: CPU percent, network bytes per second. An entry
 * appears in the report from its second sample (a rate needs two); one whose
 * counters went backwards (a restarted process, a reused pid) starts over.
 * The latest report is kept ready, so serving it costs nothing.
 */
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";

/** Cumulative counters of one container or process, as a source reads them. */
export interface RawEntry {
  id: string;
  name: string;
  /** Changes when the id is reused by something else (a process's start time). */
  generation?: string;
  /** CPU time used so far, microseconds. */
  cpuUsec: number;
  /** CPU limit in cores (cgroup cpu.max); CPU percent is relative to it, else to one core. */
  cpuLimitCores?: number;
  memoryBytes: number;
  /** Memory limit (cgroup memory.max), else the host's memory. */
  memoryLimitBytes: number;
  /** Cumulative network bytes of the entry's network namespace, when readable. */
  netRxBytes?: number;
  netTxBytes?: number;
  labels?: Record<string, string>;
  /** Service the container belongs to (Docker Swarm's service name), when known. */
  service?: string;
}

export interface SampleSource {
  /** `cgroup` or `processes`. */
  readonly kind: string;
  /** Reads every entry's counters now; never throws for a single entry. */
  collect(): RawEntry[];
}

/**
 * One entry of `GET /metrics/containers`: our fields, and beside them the
 * same figures under SwarmGuard's names and units (`container_id`,
 * `container_name`, `memory_mb`, `network_*_mbps` in megabits per second), so
 * its consumers read this agent unchanged.
 */
export interface ContainerMetrics {
  id: string;
  name: string;
  container_id: string;
  container_name: string;
  service_name?: string;
  labels?: Record<string, string>;
  cpu_percent: number;
  memory_percent: number;
  memory_bytes: number;
  /** Memory in MiB, as `docker stats` shows it. */
  memory_mb: number;
  net_rx_bytes_per_sec: number;
  net_tx_bytes_per_sec: number;
  network_rx_mbps: number;
  network_tx_mbps: number;
  /** When the figures were sampled, Unix seconds (fractional). */
  timestamp: number;
}

/** The body of `GET /metrics/containers`. */
export interface ContainersReport {
  node: string;
  /** When the report was built, Unix seconds (fractional). */
  timestamp: number;
  /** `cgroup` or `processes`. */
  source: string;
  containers: ContainerMetrics[];
}

export interface SamplerOptions {
  source: SampleSource;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Node name in reports; default the host name. */
  node?: string;
  /** Monotonic clock, ms; default performance.now. */
  now?: () => number;
  /** Wall clock, ms since the epoch; default Date.now. */
  wallClock?: () => number;
}

interface Previous {
  generation: string | undefined;
  at: number;
  cpuUsec: number;
  netRx: number | undefined;
  netTx: number | undefined;
}

export interface SamplerStatus {
  source: string;
  intervalMs: number;
  samples: number;
  entries: number;
  /** Wall time of the last sample, Unix ms; undefined before the first. */
  lastSampleAt: number | undefined;
  /** How long the last sample took, ms. */
  lastSampleMs: number;
  /** Samples whose source threw (the sampler carried on). */
  failures: number;
  lastError: string | undefined;
}

export class Sampler {
  readonly intervalMs: number;
  readonly node: string;
  #source: SampleSource;
  #now: () => number;
  #wallClock: () => number;
  #previous = new Map<string, Previous>();
  #report: ContainersReport;
  #timer: NodeJS.Timeout | undefined;
  #samples = 0;
  #failures = 0;
  #lastError: string | undefined;
  #lastSampleAt: number | undefined;
  #lastSampleMs = 0;

  constructor(options: SamplerOptions) {
    this.#source = options.source;
    this.intervalMs = options.intervalMs ?? 1000;
    this.node = options.node ?? hostname();
    this.#now = options.now ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? Date.now;
    this.#report = {
      node: this.node,
      timestamp: this.#wallClock() / 1000,
      source: options.source.kind,
      containers: [],
    };
  }

  /** Samples now and then every interval until `stop`. */
  start(): this {
    if (this.#timer) return this;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The latest report. */
  report(): ContainersReport {
    return this.#report;
  }

  status(): SamplerStatus {
    return {
      source: this.#source.kind,
      intervalMs: this.intervalMs,
      samples: this.#samples,
      entries: this.#report.containers.length,
      lastSampleAt: this.#lastSampleAt,
      lastSampleMs: Math.round(this.#lastSampleMs * 1000) / 1000,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** Takes one sample and rebuilds the report. */
  sample(): void {
    const started = this.#now();
    let raw: RawEntry[];
    try {
      raw = this.#source.collect();
    } catch (error) {
      this.#failures++;
      this.#lastError = error instanceof Error ? error.message : String(error);
      return;
    }
    const at = this.#now();
    const wall = this.#wallClock();
    const containers: ContainerMetrics[] = [];
    const seen = new Set<string>();
    for (const entry of raw) {
      if (seen.has(entry.id)) continue;
      seen.add(entry.id);
      const previous = this.#previous.get(entry.id);
      this.#previous.set(entry.id, {
        generation: entry.generation,
        at,
        cpuUsec: entry.cpuUsec,
        netRx: entry.netRxBytes,
        netTx: entry.netTxBytes,
      });
      if (!previous || previous.generation !== entry.generation || entry.cpuUsec < previous.cpuUsec) continue;
      const elapsedMs = at - previous.at;
      if (elapsedMs <= 0) continue;
      containers.push(toMetrics(entry, previous, elapsedMs, wall));
    }
    for (const id of this.#previous.keys()) if (!seen.has(id)) this.#previous.delete(id);
    this.#report = { node: this.node, timestamp: wall / 1000, source: this.#source.kind, containers };
    this.#samples++;
    this.#lastSampleAt = wall;
    this.#lastSampleMs = this.#now() - started;
  }
}

function toMetrics(entry: RawEntry, previous: Previous, elapsedMs: number, wall: number): ContainerMetrics {
  const cpuShare = (entry.cpuUsec - previous.cpuUsec) / (elapsedMs * 1000);
  const rxBytesPerSec = rate(entry.netRxBytes, previous.netRx, elapsedMs);
  const txBytesPerSec = rate(entry.netTxBytes, previous.netTx, elapsedMs);
  const metrics: ContainerMetrics = {
    id: entry.id,
    name: entry.name,
    container_id: entry.id,
    container_name: entry.name,
    cpu_percent: round((100 * cpuShare) / (entry.cpuLimitCores ?? 1)),
    memory_percent: round(
      entry.memoryLimitBytes > 0 ? (100 * entry.memoryBytes) / entry.memoryLimitBytes : 0,
    ),
    memory_bytes: entry.memoryBytes,
    memory_mb: round(entry.memoryBytes / BYTES_PER_MIB),
    net_rx_bytes_per_sec: rxBytesPerSec,
    net_tx_bytes_per_sec: txBytesPerSec,
    network_rx_mbps: megabits(rxBytesPerSec),
    network_tx_mbps: megabits(txBytesPerSec),
    timestamp: wall / 1000,
  };
  if (entry.service !== undefined) metrics.service_name = entry.service;
  if (entry.labels !== undefined && Object.keys(entry.labels).length > 0) metrics.labels = entry.labels;
  return metrics;
}

/** Bytes per second between two cumulative counters; 0 when unknown or reset. */
function rate(current: number | undefined, previous: number | undefined, elapsedMs: number): number {
  if (current === undefined || previous === undefined || current < previous) return 0;
  return round(((current - previous) * 1000) / elapsedMs);
}

const BYTES_PER_MIB = 1024 * 1024;
/** SwarmGuard gives network rates in megabits per second. */
export const BYTES_PER_MEGABIT = 125_000;

/** Bytes per second → megabits per second, to the kilobit. */
function megabits(bytesPerSecond: number): number {
  return Math.round(bytesPerSecond / (BYTES_PER_MEGABIT / 1000)) / 1000;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

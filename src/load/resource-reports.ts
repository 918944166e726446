/**
 * Resource report store: the latest CPU, memory and network figures of each
 * backend, as reported by monitoring agents (SwarmGuard's agent). The
 * agent poller is the writer; the load-reading algorithms (`metrics`,
 * `hybrid`, `resource-aware`) are the readers, so neither knows the other.
 *
 * One store per balancer, keyed by backend id: the balancer creates it (or
 * takes `resourceReports` from its options) and hands it to every selector it
 * builds through the algorithm environment, so the store survives algorithm
 * switches (the admin API can turn any pool to `metrics` at runtime and it
 * reads the right figures), and two pools with the same backend id never
 * see each other's figures. The runtime configures its stale limit and
 * fallback from the pool's `agents` settings and starts a poller on it.
 *
 * A sample older than the store's TTL (the stale limit) reads as missing.
 * Every `read` is counted, so the cache hit rate (fresh reads / reads) and
 * the fallbacks the algorithms took are reported per pool.
 */
import { performance } from "node:perf_hooks";
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";

/** Utilisation figures of one backend. */
export interface ResourceSample {
  /** CPU use, percent (100 = one core, or the container's whole CPU limit). */
  cpu: number;
  /** Memory use, percent of the limit (or of the host's memory). */
  memory: number;
  /** Network throughput, received + transmitted, bytes per second. */
  network: number;
}

/** A stored sample with the time it was taken, on the store's clock (ms). */
export interface ResourceReport extends ResourceSample {
  at: number;
}

/**
 * What the metrics-driven algorithms do when no ready backend has fresh
 * metrics: rotate round-robin (counted as a fallback), or `none`: score the
 * missing figures as 0 and carry on with whatever else the algorithm weighs.
 */
export type ResourceFallback = "round-robin" | "none";

export const DEFAULT_REPORT_TTL_MS = 2_000;

export interface ResourceReportStoreOptions {
  /** Samples older than this read as missing; default 2000 ms. */
  ttlMs?: number;
  /** Default round-robin. */
  fallback?: ResourceFallback;
  /** Millisecond clock; default performance.now. */
  now?: () => number;
}

export interface ResourceReportView extends ResourceSample {
  ageMs: number;
  fresh: boolean;
}

export interface ResourceReportStats {
  ttlMs: number;
  fallback: ResourceFallback;
  /** Metric reads by the algorithms. */
  lookups: number;
  /** Reads that found a sample younger than the TTL. */
  freshLookups: number;
  /** freshLookups / lookups; 1 before the first read. */
  hitRate: number;
  /** Picks made by the fallback because no ready backend had fresh metrics. */
  fallbacks: number;
  /** Latest sample per backend id, fresh or not. */
  backends: Record<string, ResourceReportView>;
}

export class ResourceReportStore {
  #ttlMs: number;
  #fallback: ResourceFallback;
  #now: () => number;
  #samples = new Map<string, ResourceReport>();
  #lookups = 0;
  #freshLookups = 0;
  #fallbacks = 0;

  constructor(options: ResourceReportStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_REPORT_TTL_MS;
    this.#fallback = options.fallback ?? "round-robin";
    this.#now = options.now ?? (() => performance.now());
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  get fallback(): ResourceFallback {
    return this.#fallback;
  }

  /** Changes the stale limit or the fallback (config reload). */
  configure(options: { ttlMs?: number; fallback?: ResourceFallback }): void {
    if (options.ttlMs !== undefined) this.#ttlMs = options.ttlMs;
    if (options.fallback !== undefined) this.#fallback = options.fallback;
  }

  /** The store's clock, ms. */
  now(): number {
    return this.#now();
  }

  /** Stores the latest figures of backend `id`, taken at `at` (default now). */
  write(id: string, sample: ResourceSample, at: number = this.#now()): void {
    this.#samples.set(id, { cpu: sample.cpu, memory: sample.memory, network: sample.network, at });
  }

  /** The backend's sample if it is fresh, else undefined. Counted for the hit rate. */
  read(id: string): ResourceReport | undefined {
    this.#lookups++;
    const sample = this.#samples.get(id);
    if (sample === undefined || this.#now() - sample.at > this.#ttlMs) return undefined;
    this.#freshLookups++;
    return sample;
  }

  /** The backend's latest sample, fresh or not, without counting a lookup. */
  peek(id: string): ResourceReport | undefined {
    return this.#samples.get(id);
  }

  /** True when `sample` is younger than the TTL. */
  isFresh(sample: ResourceReport): boolean {
    return this.#now() - sample.at <= this.#ttlMs;
  }

  delete(id: string): void {
    this.#samples.delete(id);
  }

  /** An algorithm fell back because no ready backend had fresh metrics. */
  recordFallback(): void {
    this.#fallbacks++;
  }

  /** Forgets each backend's sample when it leaves `pool`; returns the function that stops following. */
  follow(pool: Pool): () => void {
    const forget = (backend: Backend) => {
      if (!pool.get(backend.id)) this.#samples.delete(backend.id);
    };
    pool.on("removed", forget);
    return () => {
      pool.off("removed", forget);
    };
  }

  stats(): ResourceReportStats {
    const now = this.#now();
    const backends: Record<string, ResourceReportView> = {};
    for (const [id, sample] of this.#samples) {
      const ageMs = now - sample.at;
      backends[id] = {
        cpu: round(sample.cpu),
        memory: round(sample.memory),
        network: round(sample.network),
        ageMs: Math.round(ageMs),
        fresh: ageMs <= this.#ttlMs,
      };
    }
    return {
      ttlMs: this.#ttlMs,
      fallback: this.#fallback,
      lookups: this.#lookups,
      freshLookups: this.#freshLookups,
      hitRate: this.#lookups === 0 ? 1 : this.#freshLookups / this.#lookups,
      fallbacks: this.#fallbacks,
      backends,
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

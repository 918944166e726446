/**
 * Prometheus text for the admin `GET /metrics`, through prom-client. The
 * registry is the exporter's own (never prom-client's global one) and holds
 * no state of its own: each metric's `collect()` reads the figures taken once
 * at the start of the scrape — `balancer.stats()`, `balancer.metrics
 * .snapshot()`, each listener's counters, the agent pollers' and discovery
 * sources' stats and the config reloads — so the hot path never touches
 * prom-client. The backend and pool counters and gauges are defined here;
 * latency-metrics.ts, listener-metrics.ts, agent-metrics.ts,
 * discovery-metrics.ts, config-store-metrics.ts and instance-metrics.ts
 * define theirs. Every name starts with `switchyard_`.
 * Rates come from the `_total` counters (`rate()`). All metric collects run
 * synchronously inside one `registry.metrics()` call, so concurrent scrapes
 * cannot mix their figures. Process and Node metrics (prom-client's defaults,
 * standard names) are opt-in, collected once per process and shared by every
 * exporter (process-metrics.ts).
 */
import {
  type Aggregator,
  Counter,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import type { AgentPollerStats } from "../agent/poller.js";
import type { Balancer, BalancerStats } from "../balancer/balancer.js";
import type { ConfigStoreStatus } from "../config/etcd/etcd-sync.js";
import type { ReloadStats } from "../config/reload-stats.js";
import { BACKEND_STATES } from "../core/backend.js";
import type { DiscoveryStats } from "../discovery/refresh-status.js";
import { type PoolMetrics, STATUS_CLASSES } from "../observability/balancer-metrics.js";
import type { HttpProxyStats } from "../proxy/proxy-counters.js";
import { defineAgentMetrics } from "./agent-metrics.js";
import { defineConfigStoreMetrics } from "./config-store-metrics.js";
import { defineDiscoveryMetrics } from "./discovery-metrics.js";
import { defineInstanceMetrics } from "./instance-metrics.js";
import { defineLatencyMetrics } from "./latency-metrics.js";
import { defineListenerMetrics, type ListenerScrape } from "./listener-metrics.js";
import type { Emit, MetricFamilies } from "./metric-families.js";
import { processRegistry } from "./process-metrics.js";
import { type EmitHistogram, SnapshotHistogram } from "./snapshot-histogram.js";
import { type EmitSummary, SnapshotSummary } from "./snapshot-summary.js";

/** A proxy listener as the exporter reads it. */
export interface ListenerMetricsSource {
  name: string;
  /** The default pool; undefined for an HTTP listener with routes only (its `pool` label is then empty). */
  pool: string | undefined;
  protocol: "http" | "tcp";
  /** HTTP listeners: the proxy's counters (`HttpProxy.stats()`). */
  stats?: () => HttpProxyStats;
  /** Client connections open now (`TcpProxy.connections`). */
  connections?: () => number;
}

export interface MetricsSources {
  /** Pool name → its balancer. */
  balancers: ReadonlyMap<string, Balancer>;
  /** The proxy listeners, read at each scrape. */
  listeners?: () => readonly ListenerMetricsSource[];
  /** Pool name → its monitoring-agent poller's stats, for pools that poll agents. */
  agents?: () => Readonly<Record<string, AgentPollerStats>>;
  /** Pool name → its discovery source's stats, for pools with a discovery source. */
  discovery?: () => Readonly<Record<string, DiscoveryStats>>;
  /** The shared config store's state, when the pools live in etcd. */
  configStore?: () => ConfigStoreStatus;
  /** How config reloads went, when a runtime reloads its config. */
  reloads?: () => ReloadStats;
}

export interface PrometheusOptions {
  /** Add prom-client's process and Node metrics (CPU, memory, event loop lag, GC); default false. */
  processMetrics?: boolean;
}

interface PoolScrape {
  pool: string;
  stats: BalancerStats;
  metrics: PoolMetrics | undefined;
}

interface Scrape {
  pools: PoolScrape[];
  listeners: ListenerScrape[];
  agents: [pool: string, stats: AgentPollerStats][];
  discovery: [pool: string, stats: DiscoveryStats][];
  configStore: ConfigStoreStatus | undefined;
  reloads: ReloadStats | undefined;
}

const PREFIX = "switchyard_";
const BREAKER_STATE = { closed: 0, "half-open": 1, open: 2 } as const;

/** Per-pool counters read straight from `balancer.stats()`: name, help, field. */
const POOL_COUNTERS = [
  ["decisions_total", "Requests routed (backends chosen).", "decisions"],
  ["no_backend_total", "Requests refused because no backend was ready.", "noBackend"],
  ["panic_routed_total", "Requests routed in panic mode (no backend ready, sent anyway).", "panicRouted"],
  ["failovers_total", "Attempts moved to the next candidate after a failure.", "failovers"],
  ["hedges_total", "Extra attempts opened beside a slow one (hedged requests).", "hedges"],
  ["breaker_openings_total", "Times a circuit breaker opened.", "breakerOpenings"],
] as const satisfies readonly (readonly [string, string, keyof BalancerStats])[];

export class PrometheusExporter {
  readonly registry = new Registry();
  #sources: MetricsSources;
  #scrape: Scrape = {
    pools: [],
    listeners: [],
    agents: [],
    discovery: [],
    configStore: undefined,
    reloads: undefined,
  };

  #process: boolean;

  constructor(sources: MetricsSources, options: PrometheusOptions = {}) {
    this.#sources = sources;
    this.#process = options.processMetrics === true;
    this.#define();
  }

  /** `text/plain; version=0.0.4; charset=utf-8` */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, figures taken now. */
  metrics(): Promise<string> {
    return this.#scraped().metrics();
  }

  /** The same figures as prom-client's JSON, which a cluster primary merges across workers. */
  metricsJson(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.#scraped().getMetricsAsJSON();
  }

  #scraped(): Registry {
    this.#scrape = takeScrape(this.#sources);
    return this.#process ? Registry.merge([processRegistry(), this.registry]) : this.registry;
  }

  #define(): void {
    const pools = (read: (pool: PoolScrape, emit: Emit) => void) => (emit: Emit) => {
      for (const pool of this.#scrape.pools) read(pool, emit);
    };
    const backends =
      (read: (backend: BalancerStats["backends"][number], emit: Emit, pool: string) => void) =>
      (emit: Emit) => {
        for (const pool of this.#scrape.pools)
          for (const backend of pool.stats.backends) read(backend, emit, pool.pool);
      };
    const poolLabel = (pool: PoolScrape) => ({ pool: pool.pool });
    const families: MetricFamilies = {
      counter: (...args) => this.#counter(...args),
      gauge: (...args) => this.#gauge(...args),
      summary: (...args) => this.#summary(...args),
      histogram: (...args) => this.#histogram(...args),
    };

    // Per backend ---------------------------------------------------------
    this.#counter(
      "requests_total",
      "Finished attempts by backend and outcome class (2xx..5xx; error: no response; none: no HTTP status, e.g. TCP).",
      ["pool", "backend", "status_class"],
      pools((pool, emit) => {
        for (const backend of pool.metrics?.backends ?? []) {
          for (const statusClass of STATUS_CLASSES) {
            emit(
              { pool: pool.pool, backend: backend.id, status_class: statusClass },
              backend.statusClasses[statusClass],
            );
          }
        }
      }),
    );
    this.#counter(
      "errors_total",
      "Failed attempts (transport error or 5xx) by backend.",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.errors)),
    );
    this.#gauge(
      "in_flight",
      "Attempts in progress by backend (HTTP requests awaiting completion plus open tunnels).",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.inFlight)),
    );
    this.#gauge(
      "active_connections",
      "Long-lived tunnels open by backend (TCP connections, WebSockets).",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.active)),
    );
    this.#counter(
      "ejections_total",
      "Outlier-detection ejections by backend.",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.health.ejections)),
    );
    this.#gauge(
      "breaker_state",
      "Circuit breaker state by backend: 0 closed, 1 half-open, 2 open.",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, BREAKER_STATE[backend.circuit])),
      "max",
    );
    this.#gauge(
      "backend_health",
      "1 for the backend's current state (healthy, degraded, unhealthy, draining), 0 for the others.",
      ["pool", "backend", "state"],
      backends((backend, emit, pool) => {
        for (const state of BACKEND_STATES)
          emit({ pool, backend: backend.id, state }, backend.state === state ? 1 : 0);
      }),
      "average",
    );
    this.#gauge(
      "backend_ready",
      "1 when the backend may take traffic (enabled, healthy or degraded, circuit not open).",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.ready ? 1 : 0)),
      "average",
    );
    this.#gauge(
      "backend_weight",
      "Current weight by backend (slow start included).",
      ["pool", "backend"],
      backends((backend, emit, pool) => emit({ pool, backend: backend.id }, backend.weight)),
      "average",
    );

    // Per pool ------------------------------------------------------------
    for (const [name, help, field] of POOL_COUNTERS) {
      this.#counter(
        name,
        help,
        ["pool"],
        pools((pool, emit) => emit(poolLabel(pool), pool.stats[field])),
      );
    }
    this.#counter(
      "failover_seconds_total",
      "Time from a request's first pick to each failover, summed: divided by failovers_total, the average failover time.",
      ["pool"],
      pools((pool, emit) => emit(poolLabel(pool), pool.stats.failoverMsTotal / 1000)),
    );
    this.#gauge(
      "failover_mean_seconds",
      "Average failover time since start: from a request's first pick to its move to the next candidate.",
      ["pool"],
      pools((pool, emit) => emit(poolLabel(pool), pool.stats.meanFailoverMs / 1000)),
      "average",
    );
    this.#gauge(
      "pool_healthy_backends",
      "Backends passing their checks (healthy or degraded) by pool.",
      ["pool"],
      pools((pool, emit) => emit(poolLabel(pool), pool.stats.healthyBackends)),
      "average",
    );
    this.#gauge(
      "pool_backends",
      "Backends in the pool, in any state.",
      ["pool"],
      pools((pool, emit) => emit(poolLabel(pool), pool.stats.backends.length)),
      "average",
    );
    this.#gauge(
      "load_cv",
      "Spread of recent requests (per unit of weight) across ready backends: std / mean, 0 = even.",
      ["pool"],
      pools((pool, emit) => {
        if (pool.metrics) emit(poolLabel(pool), pool.metrics.loadCv.requests);
      }),
      "average",
    );
    this.#gauge(
      "in_flight_cv",
      "Spread of in-flight work (per unit of weight) across ready backends now: std / mean.",
      ["pool"],
      pools((pool, emit) => {
        if (pool.metrics) emit(poolLabel(pool), pool.metrics.loadCv.inFlight);
      }),
      "average",
    );
    this.#counter(
      "region_requests_total",
      "Finished attempts by backend region (none: backends without a region).",
      ["pool", "region"],
      pools((pool, emit) => {
        for (const [region, count] of Object.entries(pool.metrics?.regions ?? {}))
          emit({ pool: pool.pool, region }, count);
      }),
    );

    defineLatencyMetrics(families, () => this.#scrape.pools);
    defineListenerMetrics(families, () => this.#scrape.listeners);
    defineAgentMetrics(families, () => this.#scrape.agents);
    defineDiscoveryMetrics(families, () => this.#scrape.discovery);
    defineConfigStoreMetrics(families, () => this.#scrape.configStore);
    defineInstanceMetrics(families, () => this.#scrape.reloads);
  }

  #counter(name: string, help: string, labelNames: string[], read: (emit: Emit) => void): void {
    new Counter({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });
  }

  /**
   * `aggregator` is how a cluster primary combines the workers' values
   * (cluster/metrics-merge.ts): in-flight counts add up, states do not.
   */
  #gauge(
    name: string,
    help: string,
    labelNames: string[],
    read: (emit: Emit) => void,
    aggregator: Aggregator = "sum",
  ): void {
    new Gauge({
      name: PREFIX + name,
      help,
      labelNames,
      aggregator,
      registers: [this.registry],
      collect() {
        this.reset();
        read((labels, value) => this.set(labels, value));
      },
    });
  }

  #summary(name: string, help: string, labelNames: string[], read: (emit: EmitSummary) => void): void {
    new SnapshotSummary({ name: PREFIX + name, help, labelNames, registers: [this.registry] }, read);
  }

  #histogram(name: string, help: string, labelNames: string[], read: (emit: EmitHistogram) => void): void {
    new SnapshotHistogram({ name: PREFIX + name, help, labelNames, registers: [this.registry] }, read);
  }
}

function takeScrape(sources: MetricsSources): Scrape {
  const pools: PoolScrape[] = [];
  for (const [pool, balancer] of sources.balancers) {
    pools.push({ pool, stats: balancer.stats(), metrics: balancer.metrics?.snapshot() });
  }
  const listeners = (sources.listeners?.() ?? []).map((source) => ({
    listener: source.name,
    pool: source.pool ?? "",
    protocol: source.protocol,
    stats: source.stats?.(),
    connections: source.connections?.(),
  }));
  return {
    pools,
    listeners,
    agents: Object.entries(sources.agents?.() ?? {}),
    discovery: Object.entries(sources.discovery?.() ?? {}),
    configStore: sources.configStore?.(),
    reloads: sources.reloads?.(),
  };
}

/**
 * What a balancer is built from: the pool, the algorithm, and the settings of
 * each collaborator (breakers, health, affinity, metrics, TLS, probes), with
 * their defaults. The library's main options type.
 */
import type { AffinityOptions } from "../affinity/affinity.js";
import type { AlgorithmSpec, KnownAlgorithmSpec } from "../algorithms/registry.js";
import type { BackendProtocol, BackendSpec } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { ProbeTransport } from "../core/probe.js";
import type { UpstreamTlsSettings } from "../core/upstream-tls.js";
import type { GeoResolvers } from "../geo/geo-resolvers.js";
import type { CircuitBreakerOptions } from "../health/circuit-breaker.js";
import type {
  HealthCheckOptions,
  OutlierDetectionOptions,
  SlowStartOptions,
} from "../health/health-options.js";
import type { ResourceReportStore } from "../load/resource-reports.js";
import type { BalancerMetricsOptions } from "../observability/balancer-metrics.js";
import type { Logger } from "../observability/logger.js";

export interface BalancerOptions {
  /** Backends to start with (ignored when `pool` is given). */
  backends?: readonly BackendSpec[];
  /** An existing pool to balance over. */
  pool?: Pool;
  /** Algorithm name or `{ name, ...options }`; default round-robin. */
  algorithm?: AlgorithmSpec;
  /** Random source in [0, 1); default Math.random. Inject a seeded one for determinism. */
  random?: () => number;
  /** Millisecond clock; default performance.now (inside the proxy's read callbacks, one reading per callback: core/clock.ts). */
  now?: () => number;
  /**
   * Per-backend circuit breaker settings, or false to disable. Defaults: opens
   * at 50% errors over 10 s with at least 20 requests, stays open 30 s, then
   * lets 3 probes through.
   */
  circuitBreaker?: Partial<CircuitBreakerOptions> | false;
  /**
   * Panic mode: when no backend is ready, route anyway to enabled backends that
   * are not draining (their checks may be wrong; a 503 is certain). Default
   * false: answer SY_ERR_NO_BACKEND at once.
   */
  panic?: boolean;
  /**
   * Active health checks (http, tcp, command, or a `check` function), run
   * between `start()` and `stop()`. Defaults: GET /health every 5 s ±10%,
   * 200-399 passes, 2 s timeout, rise 2, fall 3. Off when absent.
   */
  healthCheck?: HealthCheckOptions;
  /**
   * Passive outlier detection from live outcomes, or false to disable.
   * Defaults: 5 consecutive failures eject for 30 s × times ejected (at most
   * 300 s), never more than 50% of the pool at once.
   */
  outlierDetection?: OutlierDetectionOptions | false;
  /** Weight ramp for added or recovered backends; default `{ durationMs: 0 }` (off). */
  slowStart?: SlowStartOptions;
  /** Where health changes are logged; default silent. At debug, every routing decision is logged. */
  logger?: Logger;
  /**
   * Recording for `metrics` (latency histograms, rates, recent decisions), or
   * false to record nothing (the bench's baseline). Default on.
   */
  metrics?: BalancerMetricsOptions | false;
  /**
   * Session affinity (cookie, client IP or header; `ctx.sessionId` always
   * counts as a key). Off when absent. See src/affinity/affinity.ts.
   */
  affinity?: AffinityOptions;
  /** Wall clock in epoch ms for affinity expiries (cookies carry absolute times); default Date.now. */
  wallClock?: () => number;
  /**
   * Agent-reported CPU, memory and network figures of the pool's backends,
   * read by the metrics-driven algorithms; default an empty store of the
   * balancer's own (write to `balancer.env.resourceReports`).
   */
  resourceReports?: ResourceReportStore;
  /**
   * TLS settings for the pool's `https://` backends (CA, server name, client
   * certificate, `insecureSkipVerify`), shared by the proxy's connections and
   * the health checks. Default: the system's roots, full verification.
   */
  backendTls?: UpstreamTlsSettings;
  /**
   * How the proxy speaks HTTP to the pool's backends: `http1` (default) or
   * `h2` (HTTP/2 streams on shared connections; needed for gRPC). HTTP health
   * checks and the default load probes speak it too.
   */
  backendProtocol?: BackendProtocol;
  /**
   * How load probes reach the backends (read by `prequal`); default HTTP
   * (`HttpProbes`), closed by `stop()`. The simulator passes its own.
   */
  probes?: ProbeTransport;
  /**
   * Client-location resolvers for the geo algorithms, by their geo options;
   * default a set of the balancer's own. The runtime passes one set to all
   * its pools, so pools with the same geo options share a warm resolver.
   */
  geoResolvers?: GeoResolvers;
}

/** `BalancerOptions` with the algorithm's name checked at compile time: a typo does not build. */
export interface CheckedBalancerOptions extends Omit<BalancerOptions, "algorithm"> {
  algorithm?: KnownAlgorithmSpec;
}

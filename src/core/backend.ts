/**
 * A backend: one upstream server with its operator settings (weight, enabled,
 * region, labels), its health state, and live counters. The pool owns every
 * backend and is the only writer of settings and state; the balancer writes the
 * counters as requests start and finish; algorithms only read.
 */
import { type ParsedAddress, parseAddress } from "./address.js";

/**
 * `unknown`: active checks are configured but none has finished yet. Such a
 * backend takes traffic, as HAProxy and Envoy do by default, so a restart
 * does not turn into a 503 window while the first checks run; its first
 * check settles it (one failure makes it unhealthy at once).
 */
export type BackendState = "unknown" | "healthy" | "degraded" | "unhealthy" | "draining";

export const BACKEND_STATES: readonly BackendState[] = [
  "unknown",
  "healthy",
  "degraded",
  "unhealthy",
  "draining",
];

/**
 * How the proxy speaks HTTP to a pool's backends: `http1`, or `h2` (HTTP/2:
 * ALPN h2 to an `https://` backend, h2c with prior knowledge to an `http://`
 * one), which gRPC backends need.
 */
export const BACKEND_PROTOCOLS = ["http1", "h2"] as const;
export type BackendProtocol = (typeof BACKEND_PROTOCOLS)[number];

/** States whose backends take traffic (when enabled and their circuit is not open). */
export function servesTraffic(state: BackendState): boolean {
  return state === "healthy" || state === "degraded" || state === "unknown";
}

export interface BackendSpec {
  /** Stable identifier; defaults to the address. */
  id?: string;
  /** `host:port`, `http://host:port`, or `https://host:port` for a backend spoken to over TLS. */
  address: string;
  /** Relative share of traffic for weighted algorithms; default 1. */
  weight?: number;
  region?: string;
  latitude?: number;
  longitude?: number;
  labels?: Record<string, string>;
  /** Operator switch, independent of health; default true. */
  enabled?: boolean;
}

/** Share of its weight a degraded backend keeps: it still serves, but less. */
export const DEGRADED_WEIGHT_FACTOR = 0.5;

/** Smoothing factor for the latency EWMA kept on every backend (DWCP's default). */
export const LATENCY_EWMA_ALPHA = 0.2;

export class Backend {
  readonly id: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly origin: string;
  /** Connections to this backend use TLS (its address is `https://`). */
  readonly tls: boolean;
  readonly region: string | undefined;
  readonly latitude: number | undefined;
  readonly longitude: number | undefined;
  readonly labels: Readonly<Record<string, string>>;

  #weight: number;
  #enabled: boolean;
  #state: BackendState = "healthy";
  #circuitOpen = false;
  #latencySamples = 0;

  /** Long-lived tunnels open to this backend (TCP connections, WebSockets). */
  active = 0;
  /** Work in progress: HTTP requests awaiting completion plus open tunnels. */
  inFlight = 0;
  /** Completed requests or connections. */
  requests = 0;
  /** Completed requests that failed (transport error or 5xx). */
  errors = 0;
  /** Exponentially weighted moving average of response latency, in ms; 0 until the first sample. */
  ewmaLatencyMs = 0;

  constructor(spec: BackendSpec) {
    const parsed: ParsedAddress = parseAddress(spec.address);
    this.address = spec.address;
    this.id = spec.id ?? spec.address;
    this.host = parsed.host;
    this.port = parsed.port;
    this.origin = parsed.origin;
    this.tls = parsed.tls;
    this.region = spec.region;
    this.latitude = spec.latitude;
    this.longitude = spec.longitude;
    this.labels = Object.freeze({ ...spec.labels });
    this.#weight = spec.weight ?? 1;
    this.#enabled = spec.enabled ?? true;
  }

  /**
   * The weight algorithms use: the configured weight, halved while the
   * backend is degraded (failing some checks or slow).
   */
  get weight(): number {
    return this.#state === "degraded" ? this.#weight * DEGRADED_WEIGHT_FACTOR : this.#weight;
  }

  /** The weight the operator set (config, admin API, slow start). */
  get configuredWeight(): number {
    return this.#weight;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get state(): BackendState {
    return this.#state;
  }

  /** True while the backend's circuit breaker is open (no traffic until it half-opens). */
  get circuitOpen(): boolean {
    return this.#circuitOpen;
  }

  /**
   * May take new traffic: enabled by the operator, healthy, degraded or not
   * yet checked by probes, and its circuit breaker not open.
   */
  get ready(): boolean {
    return this.#enabled && !this.#circuitOpen && servesTraffic(this.#state);
  }

  /** @internal Only the pool calls the setters, so it can emit the matching event. */
  _setWeight(weight: number): void {
    this.#weight = weight;
  }

  /** @internal */
  _setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
  }

  /** @internal */
  _setState(state: BackendState): void {
    this.#state = state;
  }

  /** @internal */
  _setCircuitOpen(open: boolean): void {
    this.#circuitOpen = open;
  }

  recordLatency(latencyMs: number): void {
    this.ewmaLatencyMs =
      this.#latencySamples++ === 0
        ? latencyMs
        : this.ewmaLatencyMs + LATENCY_EWMA_ALPHA * (latencyMs - this.ewmaLatencyMs);
  }

  toJSON(): BackendSnapshot {
    return {
      id: this.id,
      address: this.address,
      weight: this.#weight,
      effectiveWeight: this.weight,
      enabled: this.#enabled,
      state: this.#state,
      ready: this.ready,
      region: this.region,
      latitude: this.latitude,
      longitude: this.longitude,
      labels: this.labels,
      active: this.active,
      inFlight: this.inFlight,
      requests: this.requests,
      errors: this.errors,
      ewmaLatencyMs: Math.round(this.ewmaLatencyMs * 1000) / 1000,
    };
  }
}

export interface BackendSnapshot {
  id: string;
  address: string;
  weight: number;
  effectiveWeight: number;
  enabled: boolean;
  state: BackendState;
  ready: boolean;
  region: string | undefined;
  latitude: number | undefined;
  longitude: number | undefined;
  labels: Readonly<Record<string, string>>;
  active: number;
  inFlight: number;
  requests: number;
  errors: number;
  ewmaLatencyMs: number;
}

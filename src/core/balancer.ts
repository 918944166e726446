/**
 * The balancer ties a pool to a selector: `select(ctx)` picks a backend and
 * opens an attempt (in-flight +1), `report(decision, outcome)` closes it and
 * feeds counters and the algorithm. The selector is rebuilt from each new pool
 * snapshot and replaced whole on `setAlgorithm`, so requests in flight finish
 * against the same backend objects and nothing is dropped.
 */
import { performance } from "node:perf_hooks";
import {
  Affinity,
  type AffinityLookup,
  type AffinityOptions,
  type AffinityStats,
} from "../affinity/affinity.js";
import "../algorithms/builtin.js";
import { type AlgorithmSpec, createSelector } from "../algorithms/registry.js";
import { BreakerSet } from "../health/breakers.js";
import type { BreakerState } from "../health/circuit-breaker.js";
import { type CircuitBreakerOptions, circuitBreakerOptions } from "../health/circuit-breaker.js";
import { type BackendHealth, type HealthChangeListener, HealthMonitor } from "../health/health-monitor.js";
import type {
  HealthCheckOptions,
  OutlierDetectionOptions,
  SlowStartOptions,
} from "../health/health-options.js";
import { BalancerMetrics, type BalancerMetricsOptions } from "../observability/balancer-metrics.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { Backend, BackendSnapshot, BackendSpec } from "./backend.js";
import type { RequestContext } from "./context.js";
import { type AttemptHost, Decision, type DecisionExplanation } from "./decision.js";
import { ErrorCodes, SwitchyardError } from "./errors.js";
import { Pool } from "./pool.js";
import {
  HEDGE_CANCELLED,
  type HedgeController,
  type Outcome,
  type Selector,
  type SelectorEnv,
} from "./selector.js";

export interface BalancerOptions {
  /** Backends to start with (ignored when `pool` is given). */
  backends?: readonly BackendSpec[];
  /** An existing pool to balance over. */
  pool?: Pool;
  /** Algorithm name or `{ name, ...options }`; default round-robin. */
  algorithm?: AlgorithmSpec;
  /** Random source in [0, 1); default Math.random. Inject a seeded one for determinism. */
  random?: () => number;
  /** Millisecond clock; default performance.now. */
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
}

export interface BalancerStats {
  algorithm: string;
  decisions: number;
  /** Mean time to choose a backend, in ns. */
  meanSelectionNs: number;
  /** Requests refused because no backend was ready. */
  noBackend: number;
  /** Requests routed in panic mode (no backend ready, sent anyway). */
  panicRouted: number;
  /** Attempts moved to a next candidate after a failure. */
  failovers: number;
  /** Extra attempts opened beside a slow one (hedged requests). */
  hedges: number;
  /** Times a circuit breaker opened. */
  breakerOpenings: number;
  requests: number;
  errors: number;
  inFlight: number;
  backends: (BackendSnapshot & { circuit: BreakerState; health: BackendHealth; sessions?: number })[];
  /** Session affinity figures, when affinity is on (sessions per backend are also on each backend). */
  affinity?: AffinityStats;
}

/** What select() bound for a request's session; kept per request context (hedges share it). */
interface AffinityBinding {
  lookup: AffinityLookup;
  backendId: string;
  routedByPin: boolean;
  cookie: string | undefined;
}

const POOL_REBUILD_EVENTS = ["changed", "state-changed", "enabled-changed", "circuit-changed"] as const;
const NO_BACKENDS_TRIED: readonly Backend[] = Object.freeze([]);

export class Balancer implements AttemptHost {
  readonly pool: Pool;
  readonly env: SelectorEnv;
  #selector: Selector;
  #algorithmSpec: AlgorithmSpec;
  #breakers: BreakerSet | undefined;
  #health: HealthMonitor;
  #decisions = 0;
  #selectionNsTotal = 0;
  #noBackend = 0;
  #failovers = 0;
  #hedges = 0;
  #panic: boolean;
  #panicRouted = 0;
  #panicCursor = 0;
  #requests = 0;
  #errors = 0;
  #metrics: BalancerMetrics | undefined;
  #affinity: Affinity | undefined;
  #bindings = new WeakMap<RequestContext, AffinityBinding>();
  /** Readiness and membership both shape what selectors index, so either rebuilds them. */
  #onPoolChanged = () => this.#selector.rebuild(this.pool.backends);

  constructor(options: BalancerOptions = {}) {
    this.pool = options.pool ?? new Pool(options.backends);
    this.env = { random: options.random ?? Math.random, now: options.now ?? (() => performance.now()) };
    this.#algorithmSpec = options.algorithm ?? "round-robin";
    this.#panic = options.panic ?? false;
    this.#selector = this.#build(this.#algorithmSpec);
    if (options.affinity) this.#affinity = new Affinity(options.affinity, options.wallClock);
    if (options.circuitBreaker !== false) {
      const breakerOptions = circuitBreakerOptions.parse(options.circuitBreaker ?? {});
      this.#breakers = new BreakerSet(this.pool, breakerOptions, this.env.now);
    }
    if (options.metrics !== false) {
      this.#metrics = new BalancerMetrics({
        ...options.metrics,
        pool: this.pool,
        now: options.now,
        logger: options.logger ?? silentLogger,
        selector: () => this.#selector,
      });
    }
    this.#follow();
    // After #follow, so selectors have rebuilt before health-change listeners run.
    this.#health = new HealthMonitor(this.pool, {
      healthCheck: options.healthCheck,
      outlierDetection: options.outlierDetection,
      slowStart: options.slowStart,
      now: this.env.now,
      random: this.env.random,
      logger: options.logger ?? silentLogger,
    });
  }

  /** Name of the algorithm in use. */
  get algorithm(): string {
    return this.#selector.name;
  }

  /** The current algorithm's hedging controls, when it hedges (ALPHA1); follows setAlgorithm. */
  get hedging(): HedgeController | undefined {
    return this.#selector.hedging;
  }

  /** The current algorithm's own figures, when it keeps any (seed 003's algorithm metrics). */
  algorithmMetrics(): object | undefined {
    return this.#selector.metrics?.();
  }

  /** What the balancer records (percentiles, rates, recent decisions); undefined with `metrics: false`. */
  get metrics(): BalancerMetrics | undefined {
    return this.#metrics;
  }

  /** Requests and failovers per client region, when the algorithm is geo-aware. */
  regionStats(): object | undefined {
    return this.#selector.regionStats?.();
  }

  /** The algorithm as configured (name and options). */
  get algorithmSpec(): AlgorithmSpec {
    return this.#algorithmSpec;
  }

  /**
   * Chooses a backend for `ctx` and opens an attempt on it. Throws
   * SY_ERR_NO_BACKEND when no backend is ready.
   */
  select(ctx: RequestContext): Decision {
    const started = performance.now();
    this.#breakers?.tick();
    this.#health.tick();
    const lookup = this.#affinity?.lookup(ctx);
    const pinned = lookup === undefined ? undefined : this.#pinnedBackend(lookup);
    const backend =
      pinned ?? this.#pickAdmitted(ctx, NO_BACKENDS_TRIED) ?? (this.#panic ? this.#panicPick() : undefined);
    const selectionNs = (performance.now() - started) * 1e6;
    if (!backend) {
      this.#noBackend++;
      throw new SwitchyardError(ErrorCodes.NO_BACKEND, "no ready backend in the pool", {
        backends: this.pool.size,
      });
    }
    this.#decisions++;
    this.#selectionNsTotal += selectionNs;
    const decision = new Decision(this, ctx, this.#selector.name, backend, selectionNs);
    if (lookup !== undefined) {
      const routedByPin = pinned !== undefined;
      const cookie = this.#affinity?.bind(lookup, backend.id, routedByPin);
      this.#bindings.set(ctx, { lookup, backendId: backend.id, routedByPin, cookie });
    }
    // Before the attempt opens, so kept scores and the debug log show the pool as the pick saw it.
    this.#metrics?.decided(decision, started);
    this.#openAttempt(backend);
    return decision;
  }

  /** The affinity settings in force, when affinity is on. */
  get affinity(): Affinity | undefined {
    return this.#affinity;
  }

  /**
   * The Set-Cookie header value the response to `decision` must carry, if any
   * (cookie affinity: a new pin, a migration or a sliding renewal). Call it
   * when the response head is written: when the request failed over to
   * another backend, the session is re-pinned to the backend that answered.
   */
  affinityCookie(decision: Decision): string | undefined {
    const binding = this.#bindings.get(decision.ctx);
    if (binding === undefined || this.#affinity === undefined) return undefined;
    const backendId = decision.backend.id;
    if (binding.backendId !== backendId) {
      const moved = { ...binding.lookup, backendId: binding.backendId };
      binding.cookie = this.#affinity.bind(moved, backendId, false);
      binding.backendId = backendId;
      binding.routedByPin = false;
    }
    return binding.cookie;
  }

  /** Closes the decision's current attempt with its outcome. */
  report(decision: Decision, outcome: Outcome): void {
    decision.finish(outcome);
  }

  /**
   * Switches the algorithm. The new selector is built and swapped in one step;
   * attempts already open finish normally. Throws on an unknown name or bad options.
   */
  setAlgorithm(spec: AlgorithmSpec): void {
    const selector = this.#build(spec);
    this.#selector = selector;
    this.#algorithmSpec = spec;
  }

  /** Starts background work (active health checks, when configured); returns the balancer. */
  start(): this {
    this.#health.start();
    if (this.pool.listeners("changed").includes(this.#onPoolChanged)) return this;
    this.#follow();
    this.#onPoolChanged();
    return this;
  }

  /** Stops health checks and following the pool; open attempts may still be reported. */
  async stop(): Promise<void> {
    for (const event of POOL_REBUILD_EVENTS) this.pool.off(event, this.#onPoolChanged);
    await this.#health.stop();
  }

  /**
   * Calls `listener` on every backend state change, with the reason (checks,
   * outlier ejection, or `external`); returns the unsubscribe function.
   */
  onHealthChange(listener: HealthChangeListener): () => void {
    return this.#health.onHealthChange(listener);
  }

  stats(): BalancerStats {
    let inFlight = 0;
    const affinity = this.#affinity?.stats();
    const backends = this.pool.backends.map((backend) => {
      inFlight += backend.inFlight;
      const entry = {
        ...backend.toJSON(),
        circuit: this.#breakers?.state(backend) ?? ("closed" as const),
        health: this.#health.details(backend),
      };
      return affinity === undefined
        ? entry
        : { ...entry, sessions: affinity.sessionsByBackend[backend.id] ?? 0 };
    });
    return {
      algorithm: this.#selector.name,
      decisions: this.#decisions,
      meanSelectionNs: this.#decisions === 0 ? 0 : Math.round(this.#selectionNsTotal / this.#decisions),
      noBackend: this.#noBackend,
      panicRouted: this.#panicRouted,
      failovers: this.#failovers,
      hedges: this.#hedges,
      breakerOpenings: this.#breakers?.opened ?? 0,
      requests: this.#requests,
      errors: this.#errors,
      inFlight,
      backends,
      ...(affinity === undefined ? {} : { affinity }),
    };
  }

  /** @internal AttemptHost */
  pickNext(ctx: RequestContext, tried: readonly Backend[], hedge: boolean): Backend | undefined {
    const backend = this.#pickAdmitted(ctx, tried);
    if (backend) {
      if (hedge) this.#hedges++;
      else this.#failovers++;
      this.#openAttempt(backend);
    }
    return backend;
  }

  /** @internal AttemptHost */
  close(backend: Backend, outcome: Outcome): void {
    backend.inFlight--;
    if (outcome.error === HEDGE_CANCELLED) {
      // Cancelled by the caller, not failed by the backend: only the load changes.
      this.#selector.loadChanged?.(backend);
      this.#selector.observe?.(backend, outcome);
      return;
    }
    this.#metrics?.completed(backend, outcome);
    backend.requests++;
    this.#requests++;
    if (outcome.error !== undefined || (outcome.status !== undefined && outcome.status >= 500)) {
      backend.errors++;
      this.#errors++;
    }
    if (outcome.latencyMs !== undefined && outcome.error === undefined)
      backend.recordLatency(outcome.latencyMs);
    this.#breakers?.record(backend, outcome);
    this.#health.record(backend, outcome);
    this.#selector.loadChanged?.(backend);
    this.#selector.observe?.(backend, outcome);
  }

  /** @internal AttemptHost */
  explain(decision: Decision): DecisionExplanation {
    const selector = this.#selector;
    const binding = this.#bindings.get(decision.ctx);
    const byAffinity = binding?.routedByPin === true && binding.backendId === decision.backend.id;
    return {
      algorithm: decision.algorithm,
      backend: decision.backend.id,
      reason: byAffinity
        ? `affinity (${this.#affinity?.mode}): session pinned to ${decision.backend.id}`
        : selector.describe(decision.backend),
      attempts: decision.attempts.map((backend) => backend.id),
      selectionNs: Math.round(decision.selectionNs),
      candidates: this.pool.backends.map((backend) => ({
        id: backend.id,
        score: selector.score?.(backend),
        ready: backend.ready,
      })),
    };
  }

  /**
   * The selector's pick, passed through the breakers: a half-open backend out
   * of probe slots is skipped for the next candidate (rare, so the extra
   * tried list is allocated only then).
   */
  #pickAdmitted(ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    const backend = this.#selector.pick(ctx, tried);
    if (!backend || !this.#breakers || this.#breakers.admit(backend)) return backend;
    const skipped = [...tried, backend];
    for (let next = this.#selector.pick(ctx, skipped); next; next = this.#selector.pick(ctx, skipped)) {
      if (this.#breakers.admit(next)) return next;
      skipped.push(next);
    }
    return undefined;
  }

  /** The session's pinned backend when it is in the pool, ready and admitted by its breaker. */
  #pinnedBackend(lookup: AffinityLookup): Backend | undefined {
    if (lookup.backendId === undefined) return undefined;
    const backend = this.pool.get(lookup.backendId);
    if (backend === undefined || !backend.ready) return undefined;
    if (this.#breakers !== undefined && !this.#breakers.admit(backend)) return undefined;
    return backend;
  }

  /** Next enabled, non-draining backend in rotation, whatever its health or circuit. */
  #panicPick(): Backend | undefined {
    const backends = this.pool.backends;
    for (let step = 0; step < backends.length; step++) {
      const backend = backends[this.#panicCursor++ % backends.length] as Backend;
      if (backend.enabled && backend.state !== "draining") {
        this.#panicRouted++;
        return backend;
      }
    }
    return undefined;
  }

  #follow(): void {
    for (const event of POOL_REBUILD_EVENTS) this.pool.on(event, this.#onPoolChanged);
  }

  #openAttempt(backend: Backend): void {
    backend.inFlight++;
    this.#selector.loadChanged?.(backend);
  }

  #build(spec: AlgorithmSpec): Selector {
    const selector = createSelector(spec, this.env);
    selector.rebuild(this.pool.backends);
    return selector;
  }
}

/** Creates a balancer (seed 000's library entry point). */
export function createBalancer(options: BalancerOptions = {}): Balancer {
  return new Balancer(options);
}

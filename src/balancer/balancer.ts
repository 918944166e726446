/**
 * The balancer ties a pool to a selector: `select(ctx)` picks a backend and
 * opens an attempt, `report(decision, outcome)` closes it. Everything else is
 * delegated: the options to balancer-options.ts, admission (breakers, panic)
 * to admission.ts, session affinity to affinity-stage.ts (a stage before and
 * after the pick, whose binding rides on the decision), counting to
 * counters.ts, `stats()` to stats.ts, and every consumer of attempts
 * (counters, metrics, breakers, health, the selector) joins one observer
 * list. The selector is rebuilt from each new pool snapshot and replaced
 * whole on `setAlgorithm`, so requests in flight finish against the same
 * backend objects and nothing is dropped.
 */
import { performance } from "node:perf_hooks";
import { Affinity } from "../affinity/affinity.js";
import { type AlgorithmEnv, type AlgorithmSpec, createSelector } from "../algorithms/registry.js";
import type { Backend, BackendProtocol } from "../core/backend.js";
import { now } from "../core/clock.js";
import type { RequestContext } from "../core/context.js";
import { type AttemptHost, Decision, type DecisionExplanation } from "../core/decision.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { AttemptObserver, Outcome } from "../core/outcome.js";
import { Pool } from "../core/pool.js";
import {
  type HedgeController,
  NO_BACKENDS_TRIED,
  type Selector,
  type SelectorFallback,
} from "../core/selector.js";
import { defaultUpstreamTls, loadUpstreamTls, type UpstreamTls } from "../core/upstream-tls.js";
import { GeoResolvers } from "../geo/geo-resolvers.js";
import { BreakerSet } from "../health/breakers.js";
import { circuitBreakerOptions } from "../health/circuit-breaker.js";
import { type HealthChangeListener, HealthMonitor } from "../health/health-monitor.js";
import { HttpProbes } from "../load/http-probes.js";
import { ResourceReportStore } from "../load/resource-reports.js";
import { BalancerMetrics } from "../observability/balancer-metrics.js";
import { silentLogger } from "../observability/logger.js";
import { Admission } from "./admission.js";
import { AffinityStage } from "./affinity-stage.js";
import { AttemptObservers } from "./attempt-observers.js";
import type { BalancerOptions, CheckedBalancerOptions } from "./balancer-options.js";
import { BalancerCounters } from "./counters.js";
import { type BalancerStats, balancerStats } from "./stats.js";

export type { BalancerOptions, CheckedBalancerOptions } from "./balancer-options.js";
export type { BalancerStats } from "./stats.js";

const POOL_REBUILD_EVENTS = ["changed", "state-changed", "enabled-changed", "circuit-changed"] as const;

export class Balancer implements AttemptHost {
  readonly pool: Pool;
  readonly env: Required<AlgorithmEnv>;
  /** How connections to `https://` backends are made (see core/upstream-tls.ts). */
  readonly backendTls: UpstreamTls;
  /** How the proxy, HTTP health checks and probes speak HTTP to the backends. */
  readonly backendProtocol: BackendProtocol;
  #selector: Selector;
  #algorithmSpec: AlgorithmSpec;
  #breakers: BreakerSet | undefined;
  #health: HealthMonitor;
  #admission: Admission;
  #counters = new BalancerCounters();
  #observers = new AttemptObservers();
  #metrics: BalancerMetrics | undefined;
  #sessions: AffinityStage | undefined;
  /** The selector's place in the observer list; follows setAlgorithm. */
  #selectorObserver: AttemptObserver = {
    opened: (backend) => this.#selector.loadChanged?.(backend),
    closed: (backend, outcome) => {
      this.#selector.loadChanged?.(backend);
      this.#selector.observe?.(backend, outcome);
    },
  };
  /** Readiness and membership both shape what selectors index, so either rebuilds them. */
  #onPoolChanged = () => this.#selector.rebuild(this.pool.backends);

  constructor(options: BalancerOptions = {}) {
    this.pool = options.pool ?? new Pool(options.backends);
    this.backendTls =
      options.backendTls === undefined ? defaultUpstreamTls() : loadUpstreamTls(options.backendTls);
    this.backendProtocol = options.backendProtocol ?? "http1";
    this.env = {
      random: options.random ?? Math.random,
      now: options.now ?? now,
      resourceReports: options.resourceReports ?? new ResourceReportStore(),
      probes: options.probes ?? new HttpProbes(this.backendTls, this.backendProtocol),
      geoResolvers: options.geoResolvers ?? new GeoResolvers(),
    };
    if (!this.backendTls.verify)
      (options.logger ?? silentLogger).warn(
        "backendTls.insecureSkipVerify: backend certificates are NOT verified; anyone on the path can impersonate these backends",
      );
    this.#algorithmSpec = options.algorithm ?? "round-robin";
    this.#selector = this.#build(this.#algorithmSpec);
    if (options.affinity) {
      const affinity = new Affinity(options.affinity, options.wallClock);
      if (affinity.secretGenerated) {
        (options.logger ?? silentLogger).warn(
          "cookie affinity without a secret: its cookies are signed with a random one for this start, so other instances and restarts will not honour them until affinity.secret is set",
        );
      }
      this.#sessions = new AffinityStage(affinity);
    }
    if (options.circuitBreaker !== false) {
      const breakerOptions = circuitBreakerOptions.parse(options.circuitBreaker ?? {});
      this.#breakers = new BreakerSet(this.pool, breakerOptions, this.env.now);
    }
    this.#admission = new Admission(this.pool, this.#breakers, options.panic ?? false);
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
      backendTls: this.backendTls,
      backendProtocol: this.backendProtocol,
      outlierDetection: options.outlierDetection,
      slowStart: options.slowStart,
      now: this.env.now,
      random: this.env.random,
      logger: options.logger ?? silentLogger,
    });
    // Counters first and the selector last, so an algorithm sees the state its outcome produced.
    this.#observers.join(this.#counters);
    if (this.#metrics) this.#observers.join(this.#metrics);
    if (this.#breakers) this.#observers.join(this.#breakers);
    this.#observers.join(this.#health);
    this.#observers.join(this.#selectorObserver);
  }

  /** Name of the algorithm in use. */
  get algorithm(): string {
    return this.#selector.name;
  }

  /** The current algorithm's hedging controls, when it hedges (ALPHA1); follows setAlgorithm. */
  get hedging(): HedgeController | undefined {
    return this.#selector.hedging;
  }

  /** The current algorithm's own figures, when it keeps any (shown by the admin API). */
  algorithmMetrics(): object | undefined {
    return this.#selector.figures?.();
  }

  /** What the balancer records (percentiles, rates, recent decisions); undefined with `metrics: false`. */
  get metrics(): BalancerMetrics | undefined {
    return this.#metrics;
  }

  /** Picks the current algorithm made without the inputs it needs, when it can lack any. */
  fallback(): SelectorFallback | undefined {
    return this.#selector.fallback?.();
  }

  /** Requests and failovers per client region, when the algorithm is geo-aware. */
  regionStats(): object | undefined {
    return this.#selector.regionStats?.();
  }

  /** The algorithm as configured (name and options). */
  get algorithmSpec(): AlgorithmSpec {
    return this.#algorithmSpec;
  }

  /** The affinity settings in force, when affinity is on. */
  get affinity(): Affinity | undefined {
    return this.#sessions?.affinity;
  }

  /**
   * Chooses a backend for `ctx` and opens an attempt on it. Throws
   * SY_ERR_NO_BACKEND when no backend is ready.
   */
  select(ctx: RequestContext): Decision {
    const started = performance.now();
    this.#breakers?.tick();
    this.#health.tick();
    const lookup = this.#sessions?.lookup(ctx);
    const pinned = lookup?.backendId === undefined ? undefined : this.#admission.admitById(lookup.backendId);
    const backend =
      pinned ?? this.#admission.pick(this.#selector, ctx, NO_BACKENDS_TRIED) ?? this.#admission.panicPick();
    const selectionNs = (performance.now() - started) * 1e6;
    if (!backend) {
      this.#counters.noBackend++;
      throw new SwitchyardError(ErrorCodes.NO_BACKEND, "no ready backend in the pool", {
        backends: this.pool.size,
      });
    }
    this.#counters.decisions++;
    this.#counters.selectionNsTotal += selectionNs;
    const session = lookup && this.#sessions?.bind(lookup, backend, pinned !== undefined);
    const decision = new Decision(this, ctx, this.#selector.name, backend, selectionNs, started, session);
    // Before the attempt opens, so kept scores and the debug log show the pool as the pick saw it.
    this.#metrics?.decided(decision, started);
    this.#observers.opened(backend);
    return decision;
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
    await this.env.probes.close?.();
  }

  /**
   * Calls `listener` on every backend state change, with the reason (checks,
   * outlier ejection, or `external`); returns the unsubscribe function.
   */
  onHealthChange(listener: HealthChangeListener): () => void {
    return this.#health.onHealthChange(listener);
  }

  stats(): BalancerStats {
    return balancerStats({
      algorithm: this.#selector.name,
      pool: this.pool,
      counters: this.#counters,
      admission: this.#admission,
      breakers: this.#breakers,
      health: this.#health,
      affinity: this.#sessions?.affinity.stats(),
    });
  }

  /** @internal AttemptHost */
  pickNext(
    ctx: RequestContext,
    tried: readonly Backend[],
    hedge: boolean,
    startedAt: number,
  ): Backend | undefined {
    const backend = this.#admission.pick(this.#selector, ctx, tried);
    if (backend) {
      if (hedge) this.#counters.hedges++;
      else this.#counters.failedOver(performance.now() - startedAt);
      this.#observers.opened(backend);
    }
    return backend;
  }

  /** @internal AttemptHost */
  close(backend: Backend, outcome: Outcome): void {
    this.#observers.closed(backend, outcome);
  }

  /** @internal AttemptHost */
  reason(decision: Decision): string {
    return decision.session?.reason(decision.backend) ?? this.#selector.describe(decision.backend);
  }

  /** @internal AttemptHost */
  explain(decision: Decision): DecisionExplanation {
    const selector = this.#selector;
    return {
      algorithm: decision.algorithm,
      backend: decision.backend.id,
      reason: this.reason(decision),
      attempts: decision.attempts.map((backend) => backend.id),
      selectionNs: Math.round(decision.selectionNs),
      candidates: this.pool.backends.map((backend) => ({
        id: backend.id,
        score: selector.score?.(backend),
        ready: backend.ready,
      })),
    };
  }

  #follow(): void {
    for (const event of POOL_REBUILD_EVENTS) this.pool.on(event, this.#onPoolChanged);
  }

  #build(spec: AlgorithmSpec): Selector {
    const selector = createSelector(spec, this.env);
    selector.rebuild(this.pool.backends);
    return selector;
  }
}

/**
 * Creates a balancer (the library's entry point). Code whose algorithm comes
 * from outside the program (a config file, a flag) builds `new Balancer()`,
 * which checks the name when it runs.
 */
export function createBalancer(options: CheckedBalancerOptions = {}): Balancer {
  return new Balancer(options);
}

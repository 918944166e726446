/**
 * The balancer's health: active checks, passive outlier detection and slow
 * start for one pool, and the one place their verdicts become pool state. A
 * backend is unhealthy while ejected, else whatever its active checks say
 * (unknown until the first one ends; healthy without them), and checks that
 * turn healthy again end an ejection; the monitor writes that through
 * `pool.setState` and never touches a draining backend. Every state change of the pool, whoever
 * made it, is announced to `onHealthChange` listeners and logged with its
 * reason (`external` when the monitor did not make it). An outside write
 * wins over an ejection: a backend readmitted by someone else is no longer
 * ejected, and an ejection ending does not undo a state set meanwhile.
 */
import type { z } from "zod";
import { type Backend, type BackendProtocol, type BackendState, servesTraffic } from "../core/backend.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { type AttemptObserver, isCancelled, type Outcome } from "../core/outcome.js";
import type { Pool } from "../core/pool.js";
import type { UpstreamTls } from "../core/upstream-tls.js";
import type { Logger } from "../observability/logger.js";
import { ActiveChecker } from "./active-checker.js";
import { createHealthCheck } from "./check-factory.js";
import {
  type HealthCheckOptions,
  healthCheckSchema,
  type OutlierDetectionOptions,
  outlierDetectionSchema,
  type SlowStartOptions,
  slowStartSchema,
} from "./health-options.js";
import type { CheckVerdict, ProbeState } from "./health-state.js";
import { OutlierDetector } from "./outlier-detector.js";
import { SlowStart, type SlowStartDetails } from "./slow-start.js";

export type HealthChangeReason =
  /** Active checking began; the state is unknown until the first check ends. */
  | "check-pending"
  /** An active check failed (degraded below `fall`, unhealthy at it). */
  | "check-failed"
  /** `rise` active checks passed in a row. */
  | "check-passed"
  /** A passing active check was slower than `degradedLatencyMs`. */
  | "slow"
  /** Ejected by passive outlier detection. */
  | "outlier"
  /** The ejection time is over. */
  | "outlier-expired"
  /** Set by someone else: an operator, the admin API, draining on removal. */
  | "external";

export interface HealthChangeEvent {
  backend: Backend;
  previous: BackendState;
  state: BackendState;
  reason: HealthChangeReason;
  /** What was seen: the check result, the failure count, the ejection time. */
  detail: string | undefined;
}

export type HealthChangeListener = (event: HealthChangeEvent) => void;

/** Per-backend health, as `balancer.stats()` shows it. */
export interface BackendHealth {
  /** Active check kind (`http`, `tcp`, `command`, `custom`); undefined when none is configured. */
  check: string | undefined;
  /** State by active checks alone; undefined without them. */
  probe: ProbeState | undefined;
  consecutiveOk: number;
  consecutiveFail: number;
  checks: number;
  /** When the last check finished, on the balancer's clock (ms). */
  lastCheckAt: number | undefined;
  lastResult: CheckVerdict | undefined;
  lastLatencyMs: number | undefined;
  lastDetail: string | undefined;
  /** Failed live requests in a row (passive detection). */
  passiveFailures: number;
  ejected: boolean;
  ejections: number;
  ejectedUntil: number | undefined;
  /** The weight ramp in progress, if any. */
  slowStart: SlowStartDetails | undefined;
  /** The last state change: why and when (balancer clock, ms). */
  lastChange: { reason: HealthChangeReason; detail: string | undefined; at: number } | undefined;
}

export interface HealthMonitorOptions {
  healthCheck?: HealthCheckOptions | undefined;
  /** How checks reach `https://` backends. */
  backendTls: UpstreamTls;
  /** How HTTP checks speak to the backends (the pool's `backendProtocol`); default `http1`. */
  backendProtocol?: BackendProtocol | undefined;
  outlierDetection?: OutlierDetectionOptions | false | undefined;
  slowStart?: SlowStartOptions | undefined;
  now: () => number;
  random: () => number;
  logger: Logger;
}

interface Cause {
  reason: HealthChangeReason;
  detail: string | undefined;
}

export class HealthMonitor implements AttemptObserver {
  #pool: Pool;
  #now: () => number;
  #logger: Logger;
  #checker: ActiveChecker | undefined;
  #outliers: OutlierDetector | undefined;
  #slowStart: SlowStart | undefined;
  #listeners = new Set<HealthChangeListener>();
  /** Set while the monitor itself writes the pool, so the change event carries its reason. */
  #cause: Cause | undefined;
  /** Backends whose state was last set by someone else. */
  #external = new Set<Backend>();
  #lastChange = new Map<Backend, BackendHealth["lastChange"]>();
  /** Set while passing checks end an ejection, so the change carries their reason. */
  #readmitting: Cause | undefined;
  #stopped = false;

  constructor(pool: Pool, options: HealthMonitorOptions) {
    this.#pool = pool;
    this.#now = options.now;
    this.#logger = options.logger;
    if (options.healthCheck) {
      const { check: custom, ...rest } = options.healthCheck;
      if (custom && rest.type !== undefined) {
        throw new SwitchyardError(
          ErrorCodes.INVALID_OPTIONS,
          "healthCheck: give either a check function or a type, not both",
          { type: rest.type },
        );
      }
      const settings = parseOptions(healthCheckSchema, rest, "healthCheck");
      this.#checker = new ActiveChecker(pool, {
        settings,
        check: createHealthCheck(settings, options.backendTls, options.backendProtocol ?? "http1", custom),
        now: options.now,
        random: options.random,
        onTransition: (backend, transition) => {
          // Checks that find a backend healthy again readmit it at once, ejected or not
          // (Envoy's successful_active_health_check_uneject_host): an ejection sized for a
          // flapping backend must not keep a recovered one out of a pool that has nothing else.
          if (transition.reason === "check-passed" && this.#outliers?.isEjected(backend)) {
            this.#readmitting = transition;
            this.#outliers.release(backend);
            this.#readmitting = undefined;
          }
          this.#apply(backend, transition);
        },
        onWatched: (backend) =>
          this.#apply(backend, { reason: "check-pending", detail: "no check has finished yet" }),
      });
    }
    if (options.outlierDetection !== false) {
      const settings = parseOptions(
        outlierDetectionSchema,
        options.outlierDetection ?? {},
        "outlierDetection",
      );
      this.#outliers = new OutlierDetector(pool, settings, options.now, {
        eject: (backend, detail) => this.#apply(backend, { reason: "outlier", detail }),
        restore: (backend) => {
          if (!this.#external.has(backend))
            this.#apply(backend, this.#readmitting ?? { reason: "outlier-expired", detail: undefined });
        },
      });
    }
    const slowStart = parseOptions(slowStartSchema, options.slowStart ?? {}, "slowStart");
    if (slowStart.durationMs > 0) this.#slowStart = new SlowStart(pool, slowStart.durationMs);

    pool.on("state-changed", (backend, previous) => this.#changed(backend, previous));
    pool.on("added", (backend) => {
      if (!this.#stopped) this.#slowStart?.begin(backend);
    });
    pool.on("removed", (backend) => {
      this.#outliers?.forget(backend);
      this.#slowStart?.cancel(backend);
      this.#external.delete(backend);
      this.#lastChange.delete(backend);
    });
  }

  /** Whether active checks are configured. */
  get checking(): boolean {
    return this.#checker !== undefined;
  }

  /** Ejections by outlier detection so far. */
  get ejections(): number {
    return this.#outliers?.ejections ?? 0;
  }

  /** Starts active checks (when configured); idempotent. */
  start(): void {
    this.#stopped = false;
    this.#outliers?.start();
    this.#checker?.start();
  }

  /**
   * Stops active checks, slow-start ramps (backends get their configured
   * weight back) and the ejection timer (ejections then end on selection).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#outliers?.stop();
    this.#slowStart?.stop();
    await this.#checker?.stop();
  }

  /** Ends ejections that are due; called on every selection. */
  tick(): void {
    this.#outliers?.tick();
  }

  /** A live attempt finished: passive detection learns from it (cancelled hedges say nothing). */
  closed(backend: Backend, outcome: Outcome): void {
    if (!isCancelled(outcome)) this.#outliers?.record(backend, outcome);
  }

  /** Calls `listener` on every backend state change; returns the unsubscribe function. */
  onHealthChange(listener: HealthChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  details(backend: Backend): BackendHealth {
    const probe = this.#checker?.details(backend);
    const passive = this.#outliers?.details(backend);
    return {
      check: this.#checker?.kind,
      probe: probe?.state,
      consecutiveOk: probe?.consecutiveOk ?? 0,
      consecutiveFail: probe?.consecutiveFail ?? 0,
      checks: probe?.checks ?? 0,
      lastCheckAt: probe?.lastCheckAt,
      lastResult: probe?.lastResult,
      lastLatencyMs: probe?.lastLatencyMs,
      lastDetail: probe?.lastDetail,
      passiveFailures: passive?.consecutiveFailures ?? 0,
      ejected: passive?.ejected ?? false,
      ejections: passive?.ejections ?? 0,
      ejectedUntil: passive?.ejectedUntil,
      slowStart: this.#slowStart?.details(backend),
      lastChange: this.#lastChange.get(backend),
    };
  }

  /** Writes the state the verdicts add up to, unless the backend is draining or already there. */
  #apply(backend: Backend, cause: Cause): void {
    if (this.#pool.get(backend.id) !== backend || backend.state === "draining") return;
    const state: BackendState = this.#outliers?.isEjected(backend)
      ? "unhealthy"
      : (this.#checker?.probeState(backend) ?? "healthy");
    if (backend.state === state) return;
    this.#cause = cause;
    try {
      this.#pool.setState(backend.id, state);
    } finally {
      this.#cause = undefined;
    }
  }

  #changed(backend: Backend, previous: BackendState): void {
    const cause = this.#cause ?? { reason: "external", detail: undefined };
    this.#cause = undefined;
    const state = backend.state;
    const usable = servesTraffic(state);
    if (cause.reason === "external") {
      this.#external.add(backend);
      if (usable) this.#outliers?.release(backend);
    } else {
      this.#external.delete(backend);
    }
    this.#lastChange.set(backend, { reason: cause.reason, detail: cause.detail, at: this.#now() });
    if (previous === "unhealthy" && usable && !this.#stopped) this.#slowStart?.begin(backend);

    const fields = { backend: backend.id, previous, state, reason: cause.reason, detail: cause.detail };
    if (state === "degraded" || state === "unhealthy") this.#logger.warn(fields, "backend health changed");
    else if (state === "unknown") this.#logger.debug(fields, "backend health changed");
    else this.#logger.info(fields, "backend health changed");

    const event: HealthChangeEvent = { backend, previous, state, reason: cause.reason, detail: cause.detail };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error, backend: backend.id }, "health-change listener threw");
      }
    }
  }
}

/** Parses options with `schema`; a failure is SY_ERR_INVALID_OPTIONS naming the field. */
function parseOptions<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const path = [what, ...(first?.path ?? []).map(String)].join(".");
  throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `invalid ${path}: ${first?.message ?? "bad value"}`, {
    issues: result.error.issues,
  });
}

/**
 * One backend's active-check state machine (HAProxy's rise/fall): results
 * are counted as consecutive passes and failures. A backend starts unknown
 * and its first check settles it: healthy if it passes, unhealthy if it fails
 * (as HAProxy treats a server at startup). A healthy backend that
 * fails a check turns degraded, and unhealthy after `fall` failures in a row;
 * an unhealthy or degraded one turns healthy after `rise` passes in a row. A
 * passing check slower than `degradedLatencyMs` counts as a pass but keeps
 * (or makes) the backend degraded. The next check's delay doubles while the
 * backend stays unhealthy, up to a cap, and is back to the base interval
 * after its first pass. Pure: time and randomness come in as arguments.
 */
export type ProbeState = "unknown" | "healthy" | "degraded" | "unhealthy";

/** A check's verdict: failed, passed, or passed too slowly. */
export type CheckVerdict = "ok" | "slow" | "fail";

export interface CheckResult {
  ok: boolean;
  /** How long the check took, in ms. */
  latencyMs: number;
  /** What was seen, e.g. `HTTP 503` or `ECONNREFUSED`. */
  detail?: string;
}

export interface HealthStateOptions {
  rise: number;
  fall: number;
  degradedLatencyMs?: number | undefined;
}

export interface ScheduleOptions {
  intervalMs: number;
  maxIntervalMs: number;
  /** Share of random spread around each delay (0.1 = ±10%). */
  jitter: number;
}

export interface ProbeTransition {
  previous: ProbeState;
  state: ProbeState;
  reason: "check-failed" | "check-passed" | "slow";
  detail: string;
}

export interface ProbeDetails {
  state: ProbeState;
  consecutiveOk: number;
  consecutiveFail: number;
  checks: number;
  /** When the last check finished, on the balancer's clock (ms). */
  lastCheckAt: number | undefined;
  lastResult: CheckVerdict | undefined;
  lastLatencyMs: number | undefined;
  lastDetail: string | undefined;
}

export class HealthState {
  #options: HealthStateOptions;
  #state: ProbeState = "unknown";
  #consecutiveOk = 0;
  #consecutiveFail = 0;
  #checks = 0;
  #lastCheckAt: number | undefined;
  #lastResult: CheckVerdict | undefined;
  #lastLatencyMs: number | undefined;
  #lastDetail: string | undefined;

  constructor(options: HealthStateOptions) {
    this.#options = options;
  }

  get state(): ProbeState {
    return this.#state;
  }

  /** Counts one check finished at `at`; returns the state change it causes, if any. */
  record(result: CheckResult, at: number): ProbeTransition | undefined {
    const { rise, fall, degradedLatencyMs } = this.#options;
    const verdict: CheckVerdict = !result.ok
      ? "fail"
      : degradedLatencyMs !== undefined && result.latencyMs > degradedLatencyMs
        ? "slow"
        : "ok";
    this.#checks++;
    this.#lastCheckAt = at;
    this.#lastResult = verdict;
    this.#lastLatencyMs = result.latencyMs;
    this.#lastDetail = result.detail;
    const seen = result.detail ?? (result.ok ? "passed" : "failed");

    if (verdict === "fail") {
      this.#consecutiveOk = 0;
      this.#consecutiveFail++;
      if (this.#state === "unknown") return this.#move("unhealthy", "check-failed", `${seen} (first check)`);
      if (this.#consecutiveFail >= fall)
        return this.#move("unhealthy", "check-failed", `${seen} (${this.#consecutiveFail} in a row)`);
      if (this.#state === "healthy")
        return this.#move("degraded", "check-failed", `${seen} (${this.#consecutiveFail} of ${fall})`);
      return undefined;
    }

    this.#consecutiveFail = 0;
    this.#consecutiveOk++;
    const slowDetail = `${seen} in ${Math.round(result.latencyMs)} ms, over ${degradedLatencyMs} ms`;
    if (this.#state === "unknown")
      return verdict === "slow"
        ? this.#move("degraded", "slow", slowDetail)
        : this.#move("healthy", "check-passed", `${seen} (first check)`);
    if (this.#state === "healthy")
      return verdict === "slow" ? this.#move("degraded", "slow", slowDetail) : undefined;
    if (this.#consecutiveOk < rise) return undefined;
    if (verdict === "slow")
      return this.#state === "unhealthy" ? this.#move("degraded", "slow", slowDetail) : undefined;
    return this.#move("healthy", "check-passed", `${seen} (${this.#consecutiveOk} in a row)`);
  }

  /**
   * Delay before the next check: the base interval, doubled for every failed
   * check since the backend turned unhealthy (capped), spread by ±jitter.
   */
  nextDelayMs(options: ScheduleOptions, random: () => number): number {
    const failuresPast = this.#state === "unhealthy" ? this.#consecutiveFail - this.#options.fall + 1 : 0;
    const cap = Math.max(options.intervalMs, options.maxIntervalMs);
    const base = Math.min(cap, options.intervalMs * 2 ** Math.min(Math.max(failuresPast, 0), 30));
    return Math.max(1, Math.round(base * (1 + options.jitter * (2 * random() - 1))));
  }

  details(): ProbeDetails {
    return {
      state: this.#state,
      consecutiveOk: this.#consecutiveOk,
      consecutiveFail: this.#consecutiveFail,
      checks: this.#checks,
      lastCheckAt: this.#lastCheckAt,
      lastResult: this.#lastResult,
      lastLatencyMs:
        this.#lastLatencyMs === undefined ? undefined : Math.round(this.#lastLatencyMs * 1000) / 1000,
      lastDetail: this.#lastDetail,
    };
  }

  #move(state: ProbeState, reason: ProbeTransition["reason"], detail: string): ProbeTransition | undefined {
    const previous = this.#state;
    if (previous === state) return undefined;
    this.#state = state;
    return { previous, state, reason, detail };
  }
}

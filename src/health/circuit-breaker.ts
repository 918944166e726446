/**
 * Per-backend circuit breaker (DWCP, Datapunk and the consistent-hashing HTTP balancer): closed while the error
 * rate over a sliding window stays under the threshold; open (no traffic) for
 * `openMs` once it reaches it with at least `minRequests` in the window; then
 * half-open, letting `halfOpenProbes` requests through: all succeeding closes
 * it, any failing re-opens it. The window is a ring of time buckets, so
 * recording is O(1) and old outcomes fall out without a timer.
 */
import { z } from "zod";
import { durationMs, MAX_TIMER_MS } from "../core/duration.js";

export type BreakerState = "closed" | "open" | "half-open";

const share = "expected a number above 0 and at most 1";
const whole = (min: number) => {
  const error = `expected a whole number of at least ${min}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(2_147_483_647, { error });
};

export const circuitBreakerOptions = z.strictObject({
  errorRate: z
    .number({ error: share })
    .gt(0, { error: share })
    .max(1, { error: share })
    .default(0.5)
    .describe("error share in the window that opens the breaker"),
  minRequests: whole(1).default(20).describe("requests needed in the window before it can open"),
  windowMs: durationMs(1, MAX_TIMER_MS).default(10_000).describe("sliding window length"),
  openMs: durationMs(1, MAX_TIMER_MS).default(30_000).describe("time spent open before probing"),
  halfOpenProbes: whole(1).default(3).describe("probe requests let through while half-open"),
});

/** `false` (no breaker) or the breaker's options, as a pool in the config file writes it. */
export const circuitBreakerSetting = z.union([z.literal(false), circuitBreakerOptions], {
  error: "expected false or an object { errorRate, minRequests, windowMs, openMs, halfOpenProbes }",
});

export type CircuitBreakerOptions = z.output<typeof circuitBreakerOptions>;

const BUCKETS = 10;

export class CircuitBreaker {
  #options: CircuitBreakerOptions;
  #now: () => number;
  #bucketMs: number;
  #totals = new Uint32Array(BUCKETS);
  #errors = new Uint32Array(BUCKETS);
  #bucketStart = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  #state: BreakerState = "closed";
  #openedAt = 0;
  #probesSent = 0;
  #probesPassed = 0;
  #onChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;

  constructor(
    options: CircuitBreakerOptions,
    now: () => number,
    onChange?: (state: BreakerState, previous: BreakerState) => void,
  ) {
    this.#options = options;
    this.#now = now;
    this.#bucketMs = options.windowMs / BUCKETS;
    this.#onChange = onChange;
  }

  /** Current state; an open breaker whose time is up reads as half-open. */
  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#options.openMs)
      this.#transition("half-open");
    return this.#state;
  }

  /** When an open breaker turns half-open (ms on the injected clock). */
  get halfOpensAt(): number {
    return this.#openedAt + this.#options.openMs;
  }

  /** Whether a new request may go to the backend now (counts half-open probes). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#probesSent >= this.#options.halfOpenProbes) return false;
    this.#probesSent++;
    return true;
  }

  /**
   * Whether a request would be let through, without taking a probe slot and
   * without any state change: an open breaker whose time is up stays refused
   * until its state is next read (`state`, `tryAcquire`).
   */
  get admits(): boolean {
    const state = this.#state;
    return state === "closed" || (state === "half-open" && this.#probesSent < this.#options.halfOpenProbes);
  }

  record(success: boolean): void {
    const state = this.state;
    if (state === "half-open") {
      if (!success) this.#open();
      else if (++this.#probesPassed >= this.#options.halfOpenProbes) this.#close();
      return;
    }
    if (state === "open") return;
    const bucket = this.#bucket();
    this.#totals[bucket] = (this.#totals[bucket] as number) + 1;
    if (!success) this.#errors[bucket] = (this.#errors[bucket] as number) + 1;
    const { total, errors } = this.window();
    if (!success && total >= this.#options.minRequests && errors / total >= this.#options.errorRate)
      this.#open();
  }

  /** Requests and errors in the sliding window. */
  window(): { total: number; errors: number } {
    const cutoff = this.#now() - this.#options.windowMs;
    let total = 0;
    let errors = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if ((this.#bucketStart[i] as number) <= cutoff) continue;
      total += this.#totals[i] as number;
      errors += this.#errors[i] as number;
    }
    return { total, errors };
  }

  #bucket(): number {
    const now = this.#now();
    const slot = Math.floor(now / this.#bucketMs);
    const index = slot % BUCKETS;
    const start = slot * this.#bucketMs;
    if (this.#bucketStart[index] !== start) {
      this.#bucketStart[index] = start;
      this.#totals[index] = 0;
      this.#errors[index] = 0;
    }
    return index;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#transition("open");
  }

  #close(): void {
    this.#totals.fill(0);
    this.#errors.fill(0);
    this.#transition("closed");
  }

  #transition(state: BreakerState): void {
    const previous = this.#state;
    if (previous === state && state !== "open") return;
    this.#state = state;
    this.#probesSent = 0;
    this.#probesPassed = 0;
    if (previous !== state) this.#onChange?.(state, previous);
  }
}

/**
 * Retry budget (after Finagle's `RetryBudget` and Envoy's retry budgets):
 * retries may add at most `ratio` of the requests seen over a sliding window,
 * plus a reserve of `minRetriesPerSecond` × window seconds so a quiet
 * listener can still fail over. Without a budget, a backend in trouble turns
 * every request into 1 + maxRetries requests and the retries finish off the
 * backends that are left (a retry storm). The window is a ring of ten time
 * buckets on an injected clock, so recording is O(1), allocates nothing and
 * old counts fall out without a timer.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";

export interface RetryBudgetOptions {
  /** Share of requests in the window that may be retried; default 0.2. */
  ratio: number;
  /** Sliding window length in ms; default 10000. */
  windowMs: number;
  /** Retries always allowed per second of window, whatever the traffic; default 3. */
  minRetriesPerSecond: number;
}

export const DEFAULT_RETRY_BUDGET: Readonly<RetryBudgetOptions> = Object.freeze({
  ratio: 0.2,
  windowMs: 10_000,
  minRetriesPerSecond: 3,
});

const BUCKETS = 10;

export class RetryBudget {
  readonly options: Readonly<RetryBudgetOptions>;
  #now: () => number;
  #bucketMs: number;
  #reserve: number;
  #requests = new Float64Array(BUCKETS);
  #retries = new Float64Array(BUCKETS);
  /** Bucket number (time / bucketMs) each slot currently holds. */
  #slotOf = new Float64Array(BUCKETS).fill(-1);
  #requestTotal = 0;
  #retryTotal = 0;
  #current = -1;

  constructor(options: Partial<RetryBudgetOptions> = {}, now: () => number = Date.now) {
    this.options = Object.freeze(retryBudgetOptions(options));
    this.#now = now;
    this.#bucketMs = this.options.windowMs / BUCKETS;
    this.#reserve = (this.options.minRetriesPerSecond * this.options.windowMs) / 1000;
  }

  /** Counts a new request (not a retry) toward the budget. */
  recordRequest(): void {
    const slot = this.#advance();
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
    this.#requestTotal++;
  }

  /** Whether one more retry fits in the budget now; takes nothing. */
  allows(): boolean {
    this.#advance();
    return this.#retryTotal < this.#reserve + this.options.ratio * this.#requestTotal;
  }

  /** Counts a retry that was sent. */
  recordRetry(): void {
    const slot = this.#advance();
    this.#retries[slot] = (this.#retries[slot] as number) + 1;
    this.#retryTotal++;
  }

  /** Requests and retries in the current window (for tests and stats). */
  get window(): { requests: number; retries: number } {
    this.#advance();
    return { requests: this.#requestTotal, retries: this.#retryTotal };
  }

  /** Moves the ring to the current time, emptying buckets that fell out; returns the current slot. */
  #advance(): number {
    const bucket = Math.floor(this.#now() / this.#bucketMs);
    const slot = bucket % BUCKETS;
    if (bucket === this.#current) return slot;
    this.#current = bucket;
    if (this.#slotOf[slot] !== bucket) {
      // Every slot holding a bucket older than the window is cleared (at most all ten).
      for (let i = 0; i < BUCKETS; i++) {
        const held = this.#slotOf[i] as number;
        if (held !== -1 && held > bucket - BUCKETS) continue;
        this.#requestTotal -= this.#requests[i] as number;
        this.#retryTotal -= this.#retries[i] as number;
        this.#requests[i] = 0;
        this.#retries[i] = 0;
        this.#slotOf[i] = -1;
      }
      this.#slotOf[slot] = bucket;
    }
    return slot;
  }
}

/** Fills defaults and validates; throws SY_ERR_INVALID_OPTIONS naming the field. */
export function retryBudgetOptions(options: Partial<RetryBudgetOptions>): RetryBudgetOptions {
  const ratio = options.ratio ?? DEFAULT_RETRY_BUDGET.ratio;
  const windowMs = options.windowMs ?? DEFAULT_RETRY_BUDGET.windowMs;
  const minRetriesPerSecond = options.minRetriesPerSecond ?? DEFAULT_RETRY_BUDGET.minRetriesPerSecond;
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 10) {
    throw invalid("retryBudget.ratio must be a number from 0 to 10", { ratio });
  }
  if (!Number.isFinite(windowMs) || windowMs < 100 || windowMs > 3_600_000) {
    throw invalid("retryBudget.windowMs must be from 100 to 3600000 ms", { windowMs });
  }
  if (!Number.isFinite(minRetriesPerSecond) || minRetriesPerSecond < 0) {
    throw invalid("retryBudget.minRetriesPerSecond must be a number of at least 0", { minRetriesPerSecond });
  }
  return { ratio, windowMs, minRetriesPerSecond };
}

function invalid(message: string, details: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_OPTIONS, message, details);
}

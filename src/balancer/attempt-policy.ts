/**
 * When a failed attempt may be followed by another on the next candidate:
 * one rule for the HTTP exchange, WebSocket upgrades, TCP tunnels, the client
 * dispatcher and the simulator, after Envoy's retry policy (retry_on,
 * num_retries, retry budget). In order:
 *
 * 1. The failure allows it: `always` when the request never reached the
 *    backend (a refused connect), `idempotent` when it may have (only an
 *    idempotent request goes again), `never` (e.g. a response had started).
 * 2. Retries are left: at most `maxRetries` per request (a route may set its own).
 * 3. The retry budget has room (retry-budget.ts): retries stay a share of
 *    requests, so a failing pool cannot turn every request into several.
 *
 * The policy counts requests and retries into its budget, and what it
 * refused for want of budget, so every transport reports the same figures.
 */
import { now } from "../core/clock.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { RetryBudget, type RetryBudgetOptions } from "./retry-budget.js";

/** Retries per request after the first attempt, unless a listener or route sets its own. */
export const DEFAULT_MAX_RETRIES = 3;

/** A listener's or a route's `maxRetries`, checked; throws SY_ERR_INVALID_OPTIONS. */
export function checkMaxRetries(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, "maxRetries must be an integer from 0 to 100", {
      maxRetries: value,
    });
  }
  return value;
}

/** Whether a failure lets the request go again: see the file comment. */
export type RetryCondition = "never" | "idempotent" | "always";

export interface AttemptPolicyOptions {
  /** Retries per request, after the first attempt; default 3. */
  maxRetries?: number;
  /** The retry budget's settings, or false for none (retries then bounded by maxRetries alone). */
  retryBudget?: Partial<RetryBudgetOptions> | false;
  /** The budget's clock (ms, monotonic); default performance.now (one reading per proxy read callback: core/clock.ts). */
  now?: () => number;
}

export class AttemptPolicy {
  readonly maxRetries: number;
  readonly budget: RetryBudget | undefined;
  /** Retries sent. */
  retries = 0;
  /** Retries refused because the budget was spent. */
  budgetRefusals = 0;

  constructor(options: AttemptPolicyOptions) {
    this.maxRetries = checkMaxRetries(options.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.budget =
      options.retryBudget === false
        ? undefined
        : new RetryBudget(options.retryBudget ?? {}, options.now ?? now);
  }

  /** A new request (not a retry): counts toward the budget. */
  requestStarted(): void {
    this.budget?.recordRequest();
  }

  /**
   * Whether a request that has been retried `retries` times may go again
   * after a failure of kind `condition`; `maxRetries` replaces the policy's
   * (a route's own). Takes nothing: call `retried()` when the retry is sent.
   */
  allowsRetry(
    retries: number,
    condition: RetryCondition,
    idempotent: boolean,
    maxRetries = this.maxRetries,
  ): boolean {
    if (condition === "never" || (condition === "idempotent" && !idempotent)) return false;
    if (retries >= maxRetries) return false;
    if (this.budget === undefined || this.budget.allows()) return true;
    this.budgetRefusals++;
    return false;
  }

  /** A retry was sent. */
  retried(): void {
    this.budget?.recordRetry();
    this.retries++;
  }
}

/**
 * When to hedge (Dean & Barroso, "The Tail at Scale", CACM 2013: "hedged
 * requests"): an idempotent request whose first try has not answered within
 * the `quantile` (default p95) of recent attempt latencies gets a second try
 * on the next candidate; the first answer wins and the other is cancelled.
 *
 * - Delay: `max(minDelayMs, quantile of the latency histogram)`, from the
 *   successful attempts seen (cancelled hedges excluded); no hedging until
 *   `MIN_SAMPLES` have been seen.
 * - Budget: a token bucket in the shape of Finagle's RetryBudget. Every
 *   request deposits `budget` tokens (0.05 by default), a hedge withdraws one,
 *   and the bucket holds at most `budget × BUDGET_WINDOW` (5 with the
 *   defaults). It starts empty, so at every moment hedges ≤ budget × requests
 *   since the start, and over any run of n consecutive requests hedges ≤
 *   budget × (n + BUDGET_WINDOW): the sliding count, without remembering it.
 * - Usefulness (the "conditional" in SLO-aware hedging): a hedge pays off only
 *   when it answers first, which it does when the delay comes from the first
 *   backend (queueing, a pause, a noisy neighbour) and never when it comes from
 *   the request itself (a heavy request is as heavy on the next backend, and
 *   the loser may keep its backend busy). Callers report each race with
 *   `settled(hedgeWon)`; the deposit per request is scaled by
 *   min(1, win rate / USEFUL_WIN_RATE), floored at MIN_BUDGET_SHARE so the
 *   policy keeps probing and comes back when hedges start winning. The win
 *   rate is over recent races (counts halved every WIN_HALF_LIFE races) and
 *   starts at 1: a caller that never reports gets the full budget.
 * - Only idempotent methods are hedged (GET, HEAD, OPTIONS, PUT, DELETE,
 *   TRACE; a context without a method counts as GET).
 *
 * The caller's part (library or proxy):
 *
 *   const d = balancer.select(ctx);
 *   const delay = policy.allows(ctx) ? policy.delayMs() : undefined;
 *   // if no answer after `delay` ms and policy.acquire(): const h = d.hedge();
 *   // first answer wins: finish it as usual; finish the other with
 *   // { error: HEDGE_CANCELLED } (ALPHA1 does not count that as a failure);
 *   // policy.settled(winner === h).
 *
 * The policy counts requests only when told (`countRequest`) and learns
 * latencies only from `observe`; the ALPHA1 selector does both from its own
 * `pick` and `observe`, so a caller only asks `allows`/`delayMs`, calls
 * `acquire` when it hedges and `settled` when the race is decided.
 */
import { z } from "zod";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import { LatencyHistogram } from "../load/latency-histogram.js";

/** The error a cancelled hedge loser is finished with; ALPHA1 ignores such outcomes. */
export { HEDGE_CANCELLED } from "../core/outcome.js";

/** Methods a request may be sent twice with (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
  "TRACE",
]);

/** Successful samples needed before the first hedge (a p95 of fewer is noise). */
export const MIN_SAMPLES = 100;
/** Requests whose deposits the bucket can hold (its burst). */
export const BUDGET_WINDOW = 100;
/** A hedge win rate at or above this earns the full budget. */
export const USEFUL_WIN_RATE = 0.25;
/** Share of the budget kept however rarely hedges win (probing). */
export const MIN_BUDGET_SHARE = 0.1;
/** Races after which older races weigh half as much in the win rate. */
export const WIN_HALF_LIFE = 50;
/** The delay is recomputed from the histogram after this many new samples. */
const REFRESH_SAMPLES = 16;
/** Slack for the float sum of deposits (20 × 0.05 may come to 0.999…). */
const TOKEN_EPSILON = 1e-9;

/** The options schema of hedging, for the algorithms that hedge (ALPHA1, Prequal with `hedge`). */
export const hedgeOptions = z.strictObject({
  enabled: z.boolean().default(true).describe("hedge slow idempotent requests"),
  quantile: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.95)
    .describe("hedge once the first try is slower than this quantile of recent attempt latencies"),
  minDelayMs: z.number().nonnegative().default(1).describe("never hedge sooner than this, ms"),
  budget: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe("extra attempts allowed as a fraction of requests (0.05 = at most 5% more)"),
});

export interface HedgeOptions {
  /** Hedge at all. */
  enabled: boolean;
  /** Quantile of recent attempt latencies after which a request is hedged, (0, 1). */
  quantile: number;
  /** Never hedge sooner than this, ms. */
  minDelayMs: number;
  /** Extra attempts allowed per request, [0, 1]: 0.05 means at most 5% more attempts. */
  budget: number;
}

export interface HedgeStats {
  enabled: boolean;
  /** Current delay before hedging, ms; undefined while not hedging (disabled, warming up, budget spent). */
  delayMs: number | undefined;
  requests: number;
  hedges: number;
  /** Hedges per request. */
  rate: number;
  /** The configured budget: extra attempts allowed per request. */
  budget: number;
  /** Hedges the budget would allow right now. */
  tokens: number;
  /** Recent share of races the hedge won (1 until a race is reported). */
  winRate: number;
  /** Share of `budget` deposited per request now, from the win rate. */
  budgetShare: number;
}

/** True when `ctx` may be sent twice: an idempotent method, or no method (GET). */
export function isIdempotent(ctx: RequestContext): boolean {
  return ctx.method === undefined || IDEMPOTENT_METHODS.has(ctx.method.toUpperCase());
}

export class HedgePolicy {
  readonly options: Readonly<HedgeOptions>;
  /** Recent successful attempt latencies (ALPHA1 also reads its p50/p99). */
  readonly latencies: LatencyHistogram;
  #tokens = 0;
  #maxTokens: number;
  #requests = 0;
  #hedges = 0;
  #delayMs: number | undefined;
  #delayAtSamples = -REFRESH_SAMPLES;
  #wins = 1;
  #races = 1;
  #racesSinceHalving = 0;
  #deposit: number;

  constructor(options: HedgeOptions, latencies = new LatencyHistogram()) {
    this.options = Object.freeze({ ...options });
    this.latencies = latencies;
    this.#maxTokens = options.budget * BUDGET_WINDOW;
    this.#deposit = options.budget;
  }

  /** Whether `ctx` may be hedged at all: hedging enabled and an idempotent method. */
  allows(ctx: RequestContext): boolean {
    return this.options.enabled && isIdempotent(ctx);
  }

  /**
   * How long to wait for the first try before hedging, ms; undefined when
   * hedging is disabled, still warming up, or the budget has no hedge left.
   */
  delayMs(): number | undefined {
    if (!this.options.enabled || this.#tokens < 1 - TOKEN_EPSILON) return undefined;
    const samples = this.latencies.samples;
    if (samples < MIN_SAMPLES) return undefined;
    if (samples - this.#delayAtSamples >= REFRESH_SAMPLES) {
      this.#delayAtSamples = samples;
      const quantile = this.latencies.quantile(this.options.quantile) ?? 0;
      this.#delayMs = Math.max(this.options.minDelayMs, quantile);
    }
    return this.#delayMs;
  }

  /**
   * Takes one hedge from the budget, when the delay has passed and the caller
   * is about to hedge; false (do not hedge) when disabled or the budget is spent.
   */
  acquire(): boolean {
    if (!this.options.enabled || this.#tokens < 1 - TOKEN_EPSILON) return false;
    this.#tokens -= 1;
    this.#hedges++;
    return true;
  }

  /** A new request (first attempt): deposits `budget` × the budget share in tokens. */
  countRequest(): void {
    this.#requests++;
    const tokens = this.#tokens + this.#deposit;
    this.#tokens = Math.min(this.#maxTokens, tokens);
  }

  /** A hedged request got its first answer: from the hedge (`hedgeWon`) or from the first try. */
  settled(hedgeWon: boolean): void {
    this.#races++;
    if (hedgeWon) this.#wins++;
    if (++this.#racesSinceHalving >= WIN_HALF_LIFE) {
      this.#racesSinceHalving = 0;
      this.#races /= 2;
      this.#wins /= 2;
    }
    this.#deposit = this.options.budget * this.#budgetShare();
  }

  #budgetShare(): number {
    const share = this.#wins / this.#races / USEFUL_WIN_RATE;
    return Math.min(1, Math.max(MIN_BUDGET_SHARE, share));
  }

  /** An attempt finished: successful ones (not cancelled hedges) feed the latency histogram. */
  observe(outcome: Outcome): void {
    if (outcome.error !== undefined || outcome.latencyMs === undefined) return;
    if (outcome.status !== undefined && outcome.status >= 500) return;
    this.latencies.record(outcome.latencyMs);
  }

  stats(): HedgeStats {
    return {
      enabled: this.options.enabled,
      delayMs: this.delayMs(),
      requests: this.#requests,
      hedges: this.#hedges,
      rate: this.#requests === 0 ? 0 : this.#hedges / this.#requests,
      budget: this.options.budget,
      tokens: Math.floor(this.#tokens + TOKEN_EPSILON),
      winRate: this.#wins / this.#races,
      budgetShare: this.#budgetShare(),
    };
  }
}

/**
 * ALPHA1 (the ALPHA1/BETA1 balancer): tail-latency routing. Power of two choices over a
 * tail-risk score, β and γ adapted to the observed p99, and SLO-aware hedging.
 *
 * - Pick: two random ready backends, the lower tail risk wins
 *   (src/load/tail-risk.ts): risk = (work + β·interference + γ·age) / weight,
 *   all terms in ms. work = EWMA(latency, α) × (in flight + 1); interference
 *   = EWMA((latency − baseline)⁺) with baseline = EWMA(latency, α/10); age =
 *   time since the backend last completed a request while busy.
 * - Adaptive β/γ: every 100 successful samples the p99 of recent attempt
 *   latencies is compared with `targetP99Ms` (default: 1.25 × a slow average
 *   of the p99 itself, so the weights answer a tail that got worse, not the
 *   service's own latency shape); above it β and γ rise by 25% of their base
 *   (cap 4× base); comfortably below (80% of a fixed target, 1.1 × the
 *   reference) they decay 20% of the way back to base.
 * - Hedging (`HedgePolicy`, exposed as `selector.hedging`): for idempotent
 *   requests, after the `hedge.quantile` (p95) of recent attempt latencies
 *   (at least `minDelayMs`) the caller opens `decision.hedge()` on the next
 *   candidate, takes the first answer and finishes the loser with
 *   `{ error: HEDGE_CANCELLED }`, which ALPHA1 ignores (not a failure, not a
 *   sample). Hedges are held to `hedge.budget` (5%) of requests by a token
 *   bucket, scaled down to a tenth while hedges rarely answer first (the
 *   caller reports each race with `hedging.settled(hedgeWon)`): the tail is
 *   then the requests' own and a second try only adds load. `hedgeDelayMs()`
 *   and `hedgeAllowed(ctx)` are the two questions a caller asks;
 *   `hedging.acquire()` spends the budget when it hedges.
 * - A backend that comes back from unready (recovered, breaker half-open) is
 *   measured afresh, so one bad episode is not held against it forever.
 *
 * Mitzenmacher 2001 (two choices); Dean & Barroso, "The Tail at Scale" (2013,
 * hedged requests); Suresh et al., C3 (NSDI 2015, replica ranking by queue ×
 * service time); Vulimiri et al., "Low Latency via Redundancy" (CoNEXT 2013).
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import { type Accept, NO_BACKENDS_TRIED, type Selector, type SelectorEnv } from "../core/selector.js";
import { AdaptiveWeights, TailRiskLoad } from "../load/tail-risk.js";
import type { AlgorithmDefinition } from "./definition.js";
import { HEDGE_CANCELLED, HedgePolicy, type HedgeStats, hedgeOptions } from "./hedge-policy.js";
import { PowerOfTwoChoicesSelector } from "./power-of-two-choices.js";

export {
  HEDGE_CANCELLED,
  type HedgeOptions,
  HedgePolicy,
  type HedgeStats,
  isIdempotent,
} from "./hedge-policy.js";

/** Successful samples between two adaptations of β and γ. */
export const ADAPT_EVERY = 100;

export const alpha1Options = z.strictObject({
  alpha: z
    .number()
    .gt(0)
    .max(1)
    .default(0.05)
    .describe("EWMA smoothing per sample of work and interference (the baseline uses alpha/10)"),
  beta: z.number().nonnegative().default(1).describe("base weight of interference (ms of overshoot)"),
  gamma: z.number().nonnegative().default(1).describe("base weight of age (ms since the last completion)"),
  targetP99Ms: z
    .number()
    .positive()
    .optional()
    .describe(
      "p99 to hold, ms; beta and gamma rise while it is exceeded (default: 1.25 x a slow average of the observed p99)",
    ),
  failurePenaltyMs: z
    .number()
    .nonnegative()
    .default(1_000)
    .describe("latency charged for a failed attempt, ms"),
  hedge: hedgeOptions.prefault({}).describe("SLO-aware hedging of idempotent requests"),
});

export type Alpha1Options = z.output<typeof alpha1Options>;

export interface Alpha1Stats {
  beta: number;
  gamma: number;
  /** Target p99 at the last adaptation, ms. */
  targetP99Ms: number | undefined;
  /** Slow average of the observed p99 (the default target's reference), ms. */
  referenceP99Ms: number | undefined;
  /** Recent attempt latencies, ms (undefined before the first sample). */
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  hedge: HedgeStats;
}

export class Alpha1Selector implements Selector {
  readonly name = "alpha1";
  /** When and how often to hedge; callers read `allows`/`delayMs` and call `acquire` when they hedge. */
  readonly hedging: HedgePolicy;
  readonly load: TailRiskLoad;
  #p2c: PowerOfTwoChoicesSelector;
  #ready = new WeakSet<Backend>();
  #nextAdaptAt = ADAPT_EVERY;

  constructor(options: Alpha1Options, env: SelectorEnv) {
    const weights = new AdaptiveWeights(options);
    this.load = new TailRiskLoad(options, weights, env.now);
    this.hedging = new HedgePolicy(options.hedge);
    this.#p2c = new PowerOfTwoChoicesSelector(env, this.load, this.name);
  }

  rebuild(backends: readonly Backend[]): void {
    const ready = new WeakSet<Backend>();
    for (const backend of backends) {
      if (!backend.ready) continue;
      ready.add(backend);
      if (!this.#ready.has(backend)) this.load.reset(backend);
    }
    this.#ready = ready;
    this.#p2c.rebuild(backends);
  }

  pick(ctx: RequestContext, accept: Accept, tried = NO_BACKENDS_TRIED): Backend | undefined {
    if (tried.length === 0) this.hedging.countRequest();
    return this.#p2c.pick(ctx, accept);
  }

  loadChanged(backend: Backend): void {
    this.load.loadChanged(backend);
  }

  observe(backend: Backend, outcome: Outcome): void {
    if (outcome.error === HEDGE_CANCELLED) {
      this.load.ignore(backend);
      return;
    }
    this.load.observe(backend, outcome);
    this.hedging.observe(outcome);
    const latencies = this.hedging.latencies;
    if (latencies.samples >= this.#nextAdaptAt) {
      this.#nextAdaptAt = latencies.samples + ADAPT_EVERY;
      this.load.weights.adapt(latencies.quantile(0.99) as number);
    }
  }

  /** How long to wait before hedging, ms; undefined when hedging is off, warming up or out of budget. */
  hedgeDelayMs(): number | undefined {
    return this.hedging.delayMs();
  }

  /** Whether `ctx` may be hedged: hedging on and an idempotent method (none means GET). */
  hedgeAllowed(ctx: RequestContext): boolean {
    return this.hedging.allows(ctx);
  }

  score(backend: Backend): number {
    return this.load.load(backend);
  }

  describe(backend: Backend): string {
    const { beta, gamma } = this.load.weights;
    return (
      `lower tail risk of two random choices: ${round(this.load.load(backend))} = ` +
      `(work ${round(this.load.work(backend))} + β ${round(beta)} × interference ` +
      `${round(this.load.interference(backend))} + γ ${round(gamma)} × age ${round(this.load.age(backend))}) ` +
      `/ weight ${backend.weight}`
    );
  }

  /** β, γ, the latency percentiles they adapt to, and the hedging counters (for the admin API). */
  figures(): Alpha1Stats {
    const { beta, gamma, targetP99Ms, referenceP99Ms } = this.load.weights;
    const latencies = this.hedging.latencies;
    return {
      beta,
      gamma,
      targetP99Ms: Number.isNaN(targetP99Ms) ? undefined : targetP99Ms,
      referenceP99Ms: Number.isNaN(referenceP99Ms) ? undefined : referenceP99Ms,
      p50Ms: latencies.quantile(0.5),
      p99Ms: latencies.quantile(0.99),
      hedge: this.hedging.stats(),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export const alpha1: AlgorithmDefinition<Alpha1Options> = {
  name: "alpha1",
  aliases: ["tail-risk"],
  summary:
    "Two random choices by tail risk (EWMA work + β·interference + γ·age, β/γ adapted to p99), with budgeted hedging.",
  reference: "Dean & Barroso 2013 (hedged requests); Suresh et al. 2015 (C3); Mitzenmacher 2001",
  options: alpha1Options,
  create: (options, env) => new Alpha1Selector(options, env),
};

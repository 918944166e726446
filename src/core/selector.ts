/**
 * The one interface every algorithm implements (after Pingora's
 * `BackendSelection` and its `select_with(key, max_iterations, accept)`): a
 * selector is rebuilt from an immutable backend snapshot whenever membership
 * or weights change, and `pick` returns its most preferred backend that the
 * caller's `accept` takes. Who may take a request (ready, not yet tried by
 * this request, admitted by its circuit breaker) is the caller's rule, asked
 * once per candidate; a selector only ranks. Failover, retries and hedging
 * are the same pick with an `accept` that also refuses the backends tried,
 * never a second algorithm.
 *
 * Hot-path rules: `pick` is synchronous, allocates nothing, and must never
 * return a backend that `accept` did not take.
 */
import type { Backend } from "./backend.js";
import type { RequestContext } from "./context.js";
import type { Outcome } from "./outcome.js";

/** What a caller needs to hedge a request (a selector that hedges exposes one). */
export interface HedgeController {
  /** Whether this request may be hedged at all (hedging on, idempotent method). */
  allows(ctx: RequestContext): boolean;
  /** How long to wait for the first try before hedging, ms; undefined: do not hedge now. */
  delayMs(): number | undefined;
  /** Takes one hedge from the budget; false means do not hedge. */
  acquire(): boolean;
  /** A hedged request got its first answer, from the hedge (`hedgeWon`) or from the first try. */
  settled(hedgeWon: boolean): void;
}

/** Picks an algorithm made without the input it is built on, and what it did instead. */
export interface SelectorFallback {
  picks: number;
  /** Why, and what the picks were made by: "no fresh agent reports: round-robin". */
  reason: string;
}

export interface Selector {
  /** Registered algorithm name. */
  readonly name: string;
  /** Replaces the selector's view of the pool; called on every membership or weight change. */
  rebuild(backends: readonly Backend[]): void;
  /**
   * The most preferred backend `accept` takes, or undefined when it takes
   * none. May advance internal state (a rotation cursor). `tried` lists the
   * backends this request went to already (none on its first attempt), for
   * algorithms that count requests, failovers or cache hits; eligibility is
   * `accept`'s alone, which already refuses them.
   */
  pick(ctx: RequestContext, accept: Accept, tried?: readonly Backend[]): Backend | undefined;
  /** A backend's in-flight count changed (indexed load-aware selectors re-sort it). */
  loadChanged?(backend: Backend): void;
  /** An attempt finished; algorithms that learn from outcomes update here. */
  observe?(backend: Backend, outcome: Outcome): void;
  /** The backend's current score, lower is better; shown when a decision is explained. */
  score?(backend: Backend): number;
  /**
   * Algorithm-specific figures (BETA1's cache hit rate, ALPHA1's beta/gamma),
   * for the admin API. Not "metrics": that word is kept for what the balancer
   * records and exports (observability/, prometheus/).
   */
  figures?(): object;
  /** Requests and failovers per client region, and latency per serving region, for geo-aware algorithms. */
  regionStats?(): object;
  /** For algorithms that need inputs a pool may lack (agent reports, client locations): how often they did. */
  fallback?(): SelectorFallback;
  /** Present when the algorithm hedges slow requests (ALPHA1). */
  readonly hedging?: HedgeController;
  /** One line saying why `backend` won, for explanations and the debug log. */
  describe(backend: Backend): string;
}

/** Injected time and randomness, so every algorithm is deterministic under test. */
export interface SelectorEnv {
  /** Uniform random number in [0, 1). */
  random: () => number;
  /** Milliseconds, monotonic. */
  now: () => number;
}

/**
 * Whether `backend` may take the attempt being picked for. Callers make it
 * once and keep it (the balancer's reads its per-pick state from the
 * balancer), so a pick allocates nothing; it has no side effects, so a
 * selector may ask about any number of candidates.
 */
export type Accept = (backend: Backend) => boolean;

/** The `tried` of a first attempt. */
export const NO_BACKENDS_TRIED: readonly Backend[] = Object.freeze([]);

/** Accepts every ready backend: a first attempt with no other rule (a selector used on its own). */
export const acceptReady: Accept = (backend) => backend.ready;

/**
 * Accepts the ready backends not in `tried`: a failover pick with no other
 * rule. Makes a closure per call, so it is for callers off the hot path.
 */
export function acceptUntried(tried: readonly Backend[]): Accept {
  return (backend) => backend.ready && !tried.includes(backend);
}

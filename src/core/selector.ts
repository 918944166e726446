/**
 * The one interface every algorithm implements (after Pingora's
 * `BackendSelection`): a selector is rebuilt from an immutable backend snapshot
 * whenever membership or weights change, and `pick` returns the most preferred
 * ready backend not yet tried. Calling `pick` again with the tried list grown
 * walks the candidates in preference order, so failover, retries and hedging are
 * "take the next one", never a second algorithm.
 *
 * Hot-path rules: `pick` is synchronous, allocates nothing, and must never
 * return a backend that is not `ready` or is in `tried`.
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
  /** Why, and what the picks were made by: "no fresh agent metrics: round-robin". */
  reason: string;
}

export interface Selector {
  /** Registered algorithm name. */
  readonly name: string;
  /** Replaces the selector's view of the pool; called on every membership or weight change. */
  rebuild(backends: readonly Backend[]): void;
  /**
   * The most preferred ready backend that is not in `tried`, or undefined when
   * none is left. May advance internal state (a rotation cursor).
   */
  pick(ctx: RequestContext, tried: readonly Backend[]): Backend | undefined;
  /** A backend's in-flight count changed (indexed load-aware selectors re-sort it). */
  loadChanged?(backend: Backend): void;
  /** An attempt finished; algorithms that learn from outcomes update here. */
  observe?(backend: Backend, outcome: Outcome): void;
  /** The backend's current score, lower is better; shown when a decision is explained. */
  score?(backend: Backend): number;
  /** Algorithm-specific figures (BETA1's cache hit rate, ALPHA1's beta/gamma), for the admin API. */
  metrics?(): object;
  /** Requests and failovers per client region, and latency per serving region, for geo-aware algorithms. */
  regionStats?(): object;
  /** For algorithms that need inputs a pool may lack (agent metrics, client locations): how often they did. */
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

/** True when `backend` may be picked: ready and not yet tried. */
export function isEligible(backend: Backend, tried: readonly Backend[]): boolean {
  return backend.ready && (tried.length === 0 || !tried.includes(backend));
}

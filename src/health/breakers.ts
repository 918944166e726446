/**
 * The balancer's circuit breakers, one per backend, created on first use.
 * Outcomes feed them; their open/closed state is written into the pool
 * (`setCircuitOpen`), so an open backend is refused through the same `ready`
 * check as an unhealthy one. Half-open probes are rationed here at selection
 * time in two steps: `admits` answers for any candidate a selector weighs,
 * without side effects, and `commit` takes a probe slot for the one chosen.
 * Open breakers are re-checked by `tick()` (called on every selection, a
 * no-op while none is open), so no timer is needed and simulated clocks work.
 */
import type { Backend } from "../core/backend.js";
import { type AttemptObserver, isCancelled, isFailure, type Outcome } from "../core/outcome.js";
import type { Pool } from "../core/pool.js";
import { type BreakerState, CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.js";

export class BreakerSet implements AttemptObserver {
  #pool: Pool;
  #options: CircuitBreakerOptions;
  #now: () => number;
  #breakers = new Map<Backend, CircuitBreaker>();
  #open = new Set<Backend>();
  /** Backends whose breaker is open or half-open: while there are none, `admits` needs no lookup. */
  #unsettled = new Set<Backend>();
  #wakeAt = Number.POSITIVE_INFINITY;
  /** Times any breaker opened, for stats. */
  openings = 0;

  constructor(pool: Pool, options: CircuitBreakerOptions, now: () => number) {
    this.#pool = pool;
    this.#options = options;
    this.#now = now;
    pool.on("removed", (backend) => {
      this.#breakers.delete(backend);
      this.#open.delete(backend);
      this.#unsettled.delete(backend);
    });
  }

  /** Whether `backend` may take this request; takes nothing, so any number of candidates may be asked. */
  admits(backend: Backend): boolean {
    return this.#unsettled.size === 0 || (this.#breakers.get(backend)?.admits ?? true);
  }

  /** `backend` takes this request: a half-open breaker counts it against its probes. */
  commit(backend: Backend): void {
    if (this.#unsettled.size !== 0) this.#breakers.get(backend)?.tryAcquire();
  }

  /** An attempt ended: a failure or a success counts in the backend's window (cancelled hedges do not). */
  closed(backend: Backend, outcome: Outcome): void {
    if (!isCancelled(outcome)) this.#breaker(backend).record(!isFailure(outcome));
  }

  /** Moves open breakers whose time is up to half-open; cheap when none is open. */
  tick(): void {
    if (this.#open.size === 0 || this.#now() < this.#wakeAt) return;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    for (const backend of this.#open) {
      const breaker = this.#breaker(backend);
      // Reading the state performs the open → half-open transition when due.
      if (breaker.state === "open") this.#wakeAt = Math.min(this.#wakeAt, breaker.halfOpensAt);
    }
  }

  state(backend: Backend): BreakerState {
    return this.#breakers.get(backend)?.state ?? "closed";
  }

  #breaker(backend: Backend): CircuitBreaker {
    let breaker = this.#breakers.get(backend);
    if (!breaker) {
      breaker = new CircuitBreaker(this.#options, this.#now, (state) => this.#changed(backend, state));
      this.#breakers.set(backend, breaker);
    }
    return breaker;
  }

  #changed(backend: Backend, state: BreakerState): void {
    if (state === "closed") this.#unsettled.delete(backend);
    else this.#unsettled.add(backend);
    if (state === "open") {
      this.openings++;
      this.#open.add(backend);
      this.#wakeAt = Math.min(this.#wakeAt, this.#breaker(backend).halfOpensAt);
    } else {
      this.#open.delete(backend);
    }
    if (this.#pool.get(backend.id) === backend) this.#pool.setCircuitOpen(backend.id, state === "open");
  }
}

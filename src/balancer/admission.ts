/**
 * Who may take a request: the rule every selector's pick is held to, and what
 * happens when no backend passes it. A backend is accepted when it is ready
 * (enabled, healthy, circuit not open), not yet tried by this request and
 * admitted by its circuit breaker; the selector asks the rule about the
 * candidates it weighs (Pingora's `select_with` accept), and only the backend
 * it returns takes a half-open breaker's probe slot. When nothing is accepted
 * and panic mode is on, any enabled backend that is not draining is taken in
 * rotation rather than answering 503.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Pool } from "../core/pool.js";
import { type Accept, NO_BACKENDS_TRIED, type Selector } from "../core/selector.js";
import type { BreakerSet } from "../health/breakers.js";

export class Admission {
  readonly #pool: Pool;
  readonly #breakers: BreakerSet | undefined;
  readonly #panic: boolean;
  #panicCursor = 0;
  /** The tried list of the pick under way, read by `#accept`. */
  #tried: readonly Backend[] = NO_BACKENDS_TRIED;
  /** Made once per balancer, so a pick allocates no predicate; side-effect free. */
  readonly #accept: Accept = (backend) => {
    if (!backend.ready) return false;
    const tried = this.#tried;
    if (tried.length !== 0 && tried.includes(backend)) return false;
    return this.#breakers === undefined || this.#breakers.admits(backend);
  };
  /** Requests routed in panic mode. */
  panicRouted = 0;

  constructor(pool: Pool, breakers: BreakerSet | undefined, panic: boolean) {
    this.#pool = pool;
    this.#breakers = breakers;
    this.#panic = panic;
  }

  /** The selector's most preferred accepted backend, committed to its breaker; undefined when none is accepted. */
  pick(selector: Selector, ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    this.#tried = tried;
    let backend: Backend | undefined;
    try {
      backend = selector.pick(ctx, this.#accept, tried);
    } finally {
      this.#tried = NO_BACKENDS_TRIED;
    }
    if (backend !== undefined) this.#breakers?.commit(backend);
    return backend;
  }

  /** The backend with id `id` when it is in the pool and accepted (a session pin's first attempt). */
  admitById(id: string): Backend | undefined {
    const backend = this.#pool.get(id);
    if (backend === undefined || !this.#accept(backend)) return undefined;
    this.#breakers?.commit(backend);
    return backend;
  }

  /** In panic mode, the next enabled, non-draining backend in rotation, whatever its health or circuit. */
  panicPick(): Backend | undefined {
    if (!this.#panic) return undefined;
    const backends = this.#pool.backends;
    for (let step = 0; step < backends.length; step++) {
      const backend = backends[this.#panicCursor++ % backends.length] as Backend;
      if (backend.enabled && backend.state !== "draining") {
        this.panicRouted++;
        return backend;
      }
    }
    return undefined;
  }
}

/**
 * Who may take a request besides the selector's say-so: a backend must be
 * ready (enabled and healthy, checked by selectors), admitted by its circuit
 * breaker (a half-open breaker rations its probes here) and, when nothing is
 * ready and panic mode is on, any enabled backend that is not draining is
 * taken in rotation rather than answering 503.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Pool } from "../core/pool.js";
import type { Selector } from "../core/selector.js";
import type { BreakerSet } from "../health/breakers.js";

export class Admission {
  readonly #pool: Pool;
  readonly #breakers: BreakerSet | undefined;
  readonly #panic: boolean;
  #panicCursor = 0;
  /** Requests routed in panic mode. */
  panicRouted = 0;

  constructor(pool: Pool, breakers: BreakerSet | undefined, panic: boolean) {
    this.#pool = pool;
    this.#breakers = breakers;
    this.#panic = panic;
  }

  /**
   * The selector's pick, passed through the breakers: a half-open backend out
   * of probe slots is skipped for the next candidate (rare, so the extra
   * tried list is allocated only then).
   */
  pick(selector: Selector, ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    const backend = selector.pick(ctx, tried);
    if (!backend || !this.#breakers || this.#breakers.admit(backend)) return backend;
    const skipped = [...tried, backend];
    for (let next = selector.pick(ctx, skipped); next; next = selector.pick(ctx, skipped)) {
      if (this.#breakers.admit(next)) return next;
      skipped.push(next);
    }
    return undefined;
  }

  /** The backend with id `id` when it is in the pool, ready and admitted by its breaker. */
  admitById(id: string): Backend | undefined {
    const backend = this.#pool.get(id);
    if (backend === undefined || !backend.ready) return undefined;
    if (this.#breakers !== undefined && !this.#breakers.admit(backend)) return undefined;
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

/**
 * The totals a bounded-load rule needs (Mirrokni, Thorup, Zadimoghaddam,
 * SODA 2018): work in flight and weight, summed over the ready backends of
 * positive weight, kept current in O(1) per `loadChanged` by remembering the
 * in-flight count last seen for each backend. Readiness is read at
 * `rebuild`, which the balancer calls on every readiness change.
 */
import type { Backend } from "../core/backend.js";

export class InFlightTotals {
  /** In flight over the counted backends (ready, weight > 0). */
  inFlight = 0;
  /** Weight of the counted backends. */
  weight = 0;
  #index = new Map<Backend, number>();
  #known = new Float64Array(0);
  #counted = new Uint8Array(0);

  rebuild(backends: readonly Backend[]): void {
    this.#index = new Map(backends.map((backend, i) => [backend, i]));
    this.#known = new Float64Array(backends.length);
    this.#counted = new Uint8Array(backends.length);
    this.inFlight = 0;
    this.weight = 0;
    backends.forEach((backend, i) => {
      this.#known[i] = backend.inFlight;
      if (backend.ready && backend.weight > 0) {
        this.#counted[i] = 1;
        this.inFlight += backend.inFlight;
        this.weight += backend.weight;
      }
    });
  }

  /** Whether `backend` was in the last rebuild. */
  has(backend: Backend): boolean {
    return this.#index.has(backend);
  }

  loadChanged(backend: Backend): void {
    const i = this.#index.get(backend);
    if (i === undefined) return;
    const delta = backend.inFlight - (this.#known[i] as number);
    this.#known[i] = backend.inFlight;
    if (this.#counted[i] === 1) this.inFlight += delta;
  }
}

/**
 * Least-loaded scan: the ready backend with the lowest value of a
 * `LoadMetric`, scanning all of them (O(n)); the scan starts one place later
 * on every pick so ties rotate instead of always going to the first backend.
 * Used by metrics whose values change on every response (latency), where an
 * index would be re-sorted as often as it is read.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import type { Accept, Selector } from "../core/selector.js";
import type { LoadMetric } from "../load/load-metric.js";

/**
 * The accepted backend of `backends` with the lowest `metric.load`, scanning
 * from index `start` so that equal loads go to the first one after it.
 */
export function leastLoaded(
  backends: readonly Backend[],
  accept: Accept,
  metric: Pick<LoadMetric, "load">,
  start: number,
): Backend | undefined {
  const count = backends.length;
  let best: Backend | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (let step = 0; step < count; step++) {
    const backend = backends[(start + step) % count] as Backend;
    if (!accept(backend)) continue;
    const load = metric.load(backend);
    if (!best || load < bestLoad) {
      best = backend;
      bestLoad = load;
    }
  }
  return best;
}

export class LeastLoadedSelector implements Selector {
  readonly name: string;
  #backends: readonly Backend[] = [];
  #metric: LoadMetric;
  #offset = 0;

  constructor(name: string, metric: LoadMetric) {
    this.name = name;
    this.#metric = metric;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const backends = this.#backends;
    const count = backends.length;
    if (count === 0) return undefined;
    this.#offset = this.#offset + 1 >= count ? 0 : this.#offset + 1;
    return leastLoaded(backends, accept, this.#metric, this.#offset);
  }

  observe(backend: Backend, outcome: Outcome): void {
    this.#metric.observe?.(backend, outcome);
  }

  score(backend: Backend): number {
    return this.#metric.load(backend);
  }

  describe(backend: Backend): string {
    const load = Math.round(this.#metric.load(backend) * 1000) / 1000;
    return `lowest ${this.#metric.name} (${load})`;
  }
}

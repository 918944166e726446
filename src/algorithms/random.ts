/**
 * Random: a backend drawn at random, in proportion to its weight by default
 * (prefix sums + binary search, O(log n)). Only ready backends are drawn from
 * (the selector is rebuilt when readiness changes), so a down backend's share
 * spreads over all the others rather than onto its neighbour; a draw that
 * lands on a backend the caller does not accept (already tried) walks forward
 * to the next accepted one.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector, SelectorEnv } from "../core/selector.js";
import type { AlgorithmDefinition } from "./definition.js";

const randomOptions = z.strictObject({
  weighted: z.boolean().default(true).describe("draw in proportion to backend weight"),
});

export class RandomSelector implements Selector {
  readonly name = "random";
  #backends: readonly Backend[] = [];
  #prefix = new Float64Array(0);
  #weighted: boolean;
  #random: () => number;

  constructor(options: { weighted: boolean }, env: SelectorEnv) {
    this.#weighted = options.weighted;
    this.#random = env.random;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends.filter((backend) => backend.ready && (!this.#weighted || backend.weight > 0));
    this.#prefix = new Float64Array(this.#backends.length);
    let sum = 0;
    this.#backends.forEach((backend, i) => {
      sum += this.#weighted ? backend.weight : 1;
      this.#prefix[i] = sum;
    });
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const backends = this.#backends;
    const count = backends.length;
    if (count === 0) return undefined;
    const start = this.#draw();
    for (let step = 0; step < count; step++) {
      const backend = backends[(start + step) % count] as Backend;
      if (accept(backend)) return backend;
    }
    return undefined;
  }

  describe(): string {
    return this.#weighted ? "drawn at random in proportion to weight" : "drawn uniformly at random";
  }

  /** Index of the first prefix sum above a uniform draw over the total. */
  #draw(): number {
    const prefix = this.#prefix;
    const target = this.#random() * (prefix[prefix.length - 1] as number);
    let low = 0;
    let high = prefix.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((prefix[mid] as number) > target) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

export const random: AlgorithmDefinition<z.output<typeof randomOptions>> = {
  name: "random",
  summary: "A backend drawn at random, weighted by default.",
  options: randomOptions,
  create: (options, env) => new RandomSelector(options, env),
};

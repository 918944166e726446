/**
 * Smooth weighted round-robin, as in nginx's upstream module: every step each
 * backend's running score grows by its weight, the highest score wins and pays
 * back the total. Over a cycle of `sum(weights)` picks each backend gets
 * exactly its weight's share, interleaved rather than in bursts (weights 5,1,1
 * give a a b a c a a, never a a a a a b c).
 *
 * The cycle is computed once per snapshot into a schedule, so a pick is an
 * array read; weights that are fractional or sum past SCHEDULE_LIMIT are
 * stepped live instead (O(n) per pick, same sequence). Subclasses whose
 * weights move with every response (failure-weighted) override `weightOf`
 * and `live`, and always step live.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import { type AlgorithmDefinition, noOptions } from "./definition.js";

const SCHEDULE_LIMIT = 1 << 20;

export class WeightedRoundRobinSelector implements Selector {
  readonly name: string = "weighted-round-robin";
  #backends: Backend[] = [];
  #current = new Float64Array(0);
  #total = 0;
  #schedule: Backend[] | undefined;
  #cursor = 0;

  /** The weight a backend gets in the rotation right now. */
  protected weightOf(backend: Backend): number {
    return backend.weight;
  }

  /** True when weights change between snapshots, so no schedule can be precomputed. */
  protected get live(): boolean {
    return false;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends.filter((backend) => backend.weight > 0);
    this.#current = new Float64Array(this.#backends.length);
    this.#total = this.#backends.reduce((sum, backend) => sum + backend.weight, 0);
    this.#schedule = undefined;
    this.#cursor = 0;
    const integral = this.#backends.every((backend) => Number.isInteger(backend.weight));
    if (!this.live && integral && this.#total <= SCHEDULE_LIMIT) {
      const divisor = this.#backends.reduce((g, backend) => gcd(g, backend.weight), 0) || 1;
      const length = this.#total / divisor;
      const schedule = new Array<Backend>(length);
      for (let i = 0; i < length; i++) schedule[i] = this.#step() as Backend;
      this.#schedule = schedule;
    }
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const schedule = this.#schedule;
    if (!schedule) return this.#step(accept);
    // One full cycle visits every positive-weight backend, so it bounds the walk.
    const length = schedule.length;
    for (let step = 0; step < length; step++) {
      const backend = schedule[this.#cursor] as Backend;
      this.#cursor = this.#cursor + 1 === length ? 0 : this.#cursor + 1;
      if (accept(backend)) return backend;
    }
    return undefined;
  }

  describe(backend: Backend): string {
    return `next in the smooth weighted rotation (weight ${backend.weight} of ${this.#total})`;
  }

  /**
   * One nginx smooth-WRR step. Stepping live (`accept` given), only accepted
   * backends take part, as nginx leaves down peers out, so one step always
   * lands on an accepted backend; building the schedule, all take part.
   */
  #step(accept?: Accept): Backend | undefined {
    const backends = this.#backends;
    const current = this.#current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i] as Backend;
      if (accept && !accept(backend)) continue;
      const weight = this.weightOf(backend);
      total += weight;
      current[i] = (current[i] as number) + weight;
      if (best < 0 || (current[i] as number) > (current[best] as number)) best = i;
    }
    if (best < 0) return undefined;
    current[best] = (current[best] as number) - total;
    return backends[best];
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export const weightedRoundRobin: AlgorithmDefinition = {
  name: "weighted-round-robin",
  aliases: ["wrr", "smooth-weighted-round-robin"],
  summary: "nginx-style smooth weighted round-robin: exact weight shares per cycle, interleaved.",
  reference: "nginx ngx_http_upstream_round_robin (smooth weighted round-robin)",
  options: noOptions,
  create: () => new WeightedRoundRobinSelector(),
};

/**
 * Power of two choices: draw two distinct ready backends at random and take
 * the less loaded. Nearly as good as a full least-loaded scan, O(1), and immune
 * to the herd effect of every balancer instance chasing the same backend.
 * The load is a pluggable `LoadMetric`: in-flight requests per weight gives
 * Envoy's LEAST_REQUEST, peak-EWMA latency gives linkerd's default balancer.
 * Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (2001);
 * tower `balance::p2c`.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import type { Accept, Selector, SelectorEnv } from "../core/selector.js";
import { inFlightLoad } from "../load/in-flight.js";
import type { LoadMetric } from "../load/load-metric.js";
import { type AlgorithmDefinition, noOptions } from "./definition.js";
import { leastLoaded } from "./least-loaded.js";

export class PowerOfTwoChoicesSelector implements Selector {
  readonly name: string;
  #ready: Backend[] = [];
  #random: () => number;
  #metric: LoadMetric;

  constructor(env: SelectorEnv, metric: LoadMetric = inFlightLoad, name = "power-of-two-choices") {
    this.#random = env.random;
    this.#metric = metric;
    this.name = name;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#ready = backends.filter((backend) => backend.ready);
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const ready = this.#ready;
    const count = ready.length;
    if (count === 0) return undefined;
    const i = Math.floor(this.#random() * count);
    let j = Math.floor(this.#random() * (count - 1));
    if (j >= i) j++;
    const a = ready[i] as Backend;
    const b = count > 1 ? (ready[j] as Backend) : a;
    const aOk = accept(a);
    const bOk = accept(b);
    if (aOk && bOk) return this.#metric.load(b) < this.#metric.load(a) ? b : a;
    if (aOk) return a;
    if (bOk) return b;
    // Both draws refused: the least-loaded accepted backend.
    return leastLoaded(ready, accept, this.#metric, i);
  }

  observe(backend: Backend, outcome: Outcome): void {
    this.#metric.observe?.(backend, outcome);
  }

  score(backend: Backend): number {
    return this.#metric.load(backend);
  }

  describe(backend: Backend): string {
    const load = Math.round(this.#metric.load(backend) * 1000) / 1000;
    return `less loaded of two random choices (${this.#metric.name} load ${load})`;
  }
}

export const powerOfTwoChoices: AlgorithmDefinition = {
  name: "power-of-two-choices",
  aliases: ["p2c", "least-request"],
  summary: "Two random ready backends, the one with less in flight per weight wins.",
  reference: "Mitzenmacher 2001; tower balance::p2c; Envoy LEAST_REQUEST",
  options: noOptions,
  create: (_options, env) => new PowerOfTwoChoicesSelector(env),
};

/**
 * Power of two choices, least-request: draw two distinct ready backends at
 * random and take the one with less work in flight per unit of weight. Nearly
 * as good as a full least-loaded scan, O(1), and immune to the herd effect of
 * every balancer instance chasing the same least-loaded backend.
 * Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (2001);
 * tower `balance::p2c`, Envoy LEAST_REQUEST.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { isEligible, type Selector, type SelectorEnv } from "../core/selector.js";
import { compareInFlight, inFlightPerWeight } from "../load/in-flight.js";
import { type AlgorithmDefinition, noOptions } from "./registry.js";

export class PowerOfTwoChoicesSelector implements Selector {
  readonly name = "power-of-two-choices";
  #ready: Backend[] = [];
  #random: () => number;

  constructor(env: SelectorEnv) {
    this.#random = env.random;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#ready = backends.filter((backend) => backend.ready);
  }

  pick(_ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    const ready = this.#ready;
    const count = ready.length;
    if (count === 0) return undefined;
    const i = Math.floor(this.#random() * count);
    let j = Math.floor(this.#random() * (count - 1));
    if (j >= i) j++;
    const a = ready[i] as Backend;
    const b = count > 1 ? (ready[j] as Backend) : a;
    const aOk = isEligible(a, tried);
    const bOk = isEligible(b, tried);
    if (aOk && bOk) return compareInFlight(b, a) < 0 ? b : a;
    if (aOk) return a;
    if (bOk) return b;
    return this.#leastLoaded(tried, i);
  }

  score(backend: Backend): number {
    return inFlightPerWeight(backend);
  }

  describe(backend: Backend): string {
    return `less loaded of two random choices (${backend.inFlight} in flight, weight ${backend.weight})`;
  }

  /** Both draws excluded: fall back to the least-loaded eligible backend. */
  #leastLoaded(tried: readonly Backend[], start: number): Backend | undefined {
    const ready = this.#ready;
    let best: Backend | undefined;
    for (let step = 0; step < ready.length; step++) {
      const backend = ready[(start + step) % ready.length] as Backend;
      if (isEligible(backend, tried) && (!best || compareInFlight(backend, best) < 0)) best = backend;
    }
    return best;
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

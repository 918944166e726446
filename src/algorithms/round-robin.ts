/**
 * Round-robin: each ready backend in turn, weights ignored. A cursor walks the
 * snapshot; unready or already-tried backends are stepped over, so the
 * rotation stays exact among the ready ones.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { isEligible, type Selector } from "../core/selector.js";
import { type AlgorithmDefinition, noOptions } from "./definition.js";

export class RoundRobinSelector implements Selector {
  readonly name = "round-robin";
  #backends: readonly Backend[] = [];
  #cursor = 0;

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
    if (this.#cursor >= backends.length) this.#cursor = 0;
  }

  pick(_ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    const backends = this.#backends;
    const count = backends.length;
    for (let step = 0; step < count; step++) {
      const index = this.#cursor;
      this.#cursor = index + 1 === count ? 0 : index + 1;
      const backend = backends[index] as Backend;
      if (isEligible(backend, tried)) return backend;
    }
    return undefined;
  }

  describe(): string {
    return "next ready backend in rotation";
  }
}

export const roundRobin: AlgorithmDefinition = {
  name: "round-robin",
  aliases: ["rr", "roundrobin", "round_robin"],
  summary: "Each ready backend in turn; weights ignored.",
  options: noOptions,
  create: () => new RoundRobinSelector(),
};

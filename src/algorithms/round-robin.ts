/**
 * Round-robin: each ready backend in turn, weights ignored. A cursor walks the
 * snapshot; backends the caller does not accept (unready, already tried) are
 * stepped over, so the rotation stays exact among the accepted ones.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import { type AlgorithmDefinition, noOptions } from "./definition.js";

export class RoundRobinSelector implements Selector {
  readonly name = "round-robin";
  #backends: readonly Backend[] = [];
  #cursor = 0;

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
    if (this.#cursor >= backends.length) this.#cursor = 0;
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const backends = this.#backends;
    const count = backends.length;
    for (let step = 0; step < count; step++) {
      const index = this.#cursor;
      this.#cursor = index + 1 === count ? 0 : index + 1;
      const backend = backends[index] as Backend;
      if (accept(backend)) return backend;
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

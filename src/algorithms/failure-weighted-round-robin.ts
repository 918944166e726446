/**
 * Failure-weighted round-robin (the ALPHA1/BETA1 balancer's HF-WRR): smooth weighted
 * round-robin where each backend's weight shrinks with its recent failure
 * rate, never below `minShare` of its configured weight so a recovering backend
 * keeps receiving the traffic that proves it healthy again.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import { OutcomeWindow } from "../load/outcome-window.js";
import type { AlgorithmDefinition } from "./definition.js";
import { WeightedRoundRobinSelector } from "./weighted-round-robin.js";

const failureWeightedOptions = z.strictObject({
  window: z.number().int().min(1).max(10_000).default(50).describe("outcomes remembered per backend"),
  minShare: z.number().min(0).max(1).default(0.1).describe("floor on the weight kept by a failing backend"),
});

type FailureWeightedOptions = z.output<typeof failureWeightedOptions>;

export class FailureWeightedRoundRobinSelector extends WeightedRoundRobinSelector {
  override readonly name = "failure-weighted-round-robin";
  #window: OutcomeWindow;
  #minShare: number;

  constructor(options: FailureWeightedOptions) {
    super();
    this.#window = new OutcomeWindow(options.window);
    this.#minShare = options.minShare;
  }

  protected override weightOf(backend: Backend): number {
    return backend.weight * Math.max(this.#minShare, 1 - this.#window.failureRate(backend));
  }

  protected override get live(): boolean {
    return true;
  }

  observe(backend: Backend, outcome: Outcome): void {
    this.#window.record(backend, outcome);
  }

  score(backend: Backend): number {
    return this.weightOf(backend);
  }

  override describe(backend: Backend): string {
    const rate = Math.round(this.#window.failureRate(backend) * 100);
    return `next in the weighted rotation (weight ${backend.weight}, ${rate}% recent failures)`;
  }
}

export const failureWeightedRoundRobin: AlgorithmDefinition<FailureWeightedOptions> = {
  name: "failure-weighted-round-robin",
  // weighted_round_robin: the ALPHA1/BETA1 balancer's name for HF-WRR (not smooth WRR).
  aliases: ["hf-wrr", "fwrr", "weighted_round_robin"],
  summary: "Smooth weighted round-robin with weights cut by recent failure rate.",
  reference: "the ALPHA1/BETA1 balancer (HF-WRR)",
  options: failureWeightedOptions,
  create: (options) => new FailureWeightedRoundRobinSelector(options),
};

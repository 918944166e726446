/**
 * Resource-aware (Datapunk's ResourceAwareStrategy): a weighted sum of CPU
 * (40%), memory (30%) and connections (30%), combined with the backend's
 * health. In percent units:
 *
 *   score = 0.4·cpu + 0.3·memory + 0.3·connections + healthPenalty·(1 − health)
 *
 * CPU and memory come from the agents (the backend metrics store, with
 * `metrics`' rules for missing figures); connections are the backend's work
 * in flight per unit of weight as a percentage of the busiest ready backend's,
 * so the term is live between agent polls and never needs a capacity
 * setting. Health is the recent success rate (a window of outcomes) times
 * `degradedFactor` while the backend is degraded, so a degraded or failing
 * backend is penalised but not excluded. Lowest score wins, ties rotate.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import { type Accept, acceptReady } from "../core/selector.js";
import { OutcomeWindow } from "../load/outcome-window.js";
import type { ResourceReportStore, ResourceSample } from "../load/resource-reports.js";
import type { AlgorithmDefinition } from "./definition.js";
import { fixed, ResourceScanSelector } from "./reported-load.js";

const weight = (fallback: number, what: string) =>
  z.number().min(0).max(1000).default(fallback).describe(`weight of ${what}`);

const resourceAwareOptions = z.strictObject({
  weights: z
    .strictObject({
      cpu: weight(0.4, "CPU percent"),
      memory: weight(0.3, "memory percent"),
      connections: weight(0.3, "in-flight work as a percent of the busiest backend's"),
    })
    .prefault({})
    .describe("weights of the figures in the score"),
  healthPenalty: z
    .number()
    .min(0)
    .max(10_000)
    .default(50)
    .describe("score points added at health 0 (scaled by 1 - health)"),
  degradedFactor: z.number().min(0).max(1).default(0.5).describe("health multiplier while degraded"),
  window: z.number().int().min(1).max(10_000).default(50).describe("outcomes remembered per backend"),
});

type ResourceAwareOptions = z.output<typeof resourceAwareOptions>;

export class ResourceAwareSelector extends ResourceScanSelector {
  readonly name = "resource-aware";
  #options: ResourceAwareOptions;
  #outcomes: OutcomeWindow;
  /** Highest in-flight per weight among the ready backends, set before each scan. */
  #busiest = 0;

  constructor(options: ResourceAwareOptions, store?: ResourceReportStore) {
    super(store);
    this.#options = options;
    this.#outcomes = new OutcomeWindow(options.window);
  }

  observe(backend: Backend, outcome: Outcome): void {
    this.#outcomes.record(backend, outcome);
  }

  /** Recent success rate, times `degradedFactor` while degraded; 0..1. */
  health(backend: Backend): number {
    const factor = backend.state === "degraded" ? this.#options.degradedFactor : 1;
    return (1 - this.#outcomes.failureRate(backend)) * factor;
  }

  /** In-flight per weight as a percent of the busiest ready backend's (0 when all are idle). */
  connections(backend: Backend): number {
    if (this.#busiest === 0 || backend.weight === 0) return 0;
    return (100 * backend.inFlight) / backend.weight / this.#busiest;
  }

  protected utilisation(sample: ResourceSample): number {
    return sample.cpu * this.#options.weights.cpu + sample.memory * this.#options.weights.memory;
  }

  protected override beforeScan(accept: Accept): void {
    this.#busiest = this.#findBusiest(accept);
  }

  protected override extra(backend: Backend): number {
    return (
      this.#options.weights.connections * this.connections(backend) +
      this.#options.healthPenalty * (1 - this.health(backend))
    );
  }

  override score(backend: Backend): number {
    this.#busiest = this.#findBusiest(acceptReady);
    return super.score(backend);
  }

  protected explainScore(backend: Backend, store: ResourceReportStore): string {
    const sample = store.peek(backend.id);
    const resources =
      sample && store.isFresh(sample)
        ? `cpu ${fixed(sample.cpu)}%, memory ${fixed(sample.memory)}%`
        : "no fresh reports, cpu and memory scored as the pool mean";
    return `lowest resource score ${fixed(this.score(backend))} (${resources}, connections ${fixed(this.connections(backend))}%, health ${fixed(this.health(backend))})`;
  }

  #findBusiest(accept: Accept): number {
    let busiest = 0;
    for (const backend of this.backends) {
      if (backend.weight === 0 || !accept(backend)) continue;
      const load = backend.inFlight / backend.weight;
      if (load > busiest) busiest = load;
    }
    return busiest;
  }
}

export const resourceAware: AlgorithmDefinition<ResourceAwareOptions> = {
  name: "resource-aware",
  aliases: ["resource"],
  summary: "Lowest 0.4·cpu + 0.3·memory + 0.3·connections, penalised by poor health.",
  reference: "Datapunk (ResourceAwareStrategy)",
  options: resourceAwareOptions,
  create: (options, env) => new ResourceAwareSelector(options, env.resourceReports),
};

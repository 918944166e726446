/**
 * Hybrid (SwarmGuard's "best of both worlds"): score = leases·10 + the `metrics`
 * load score (0.5·cpu + 0.3·memory + 0.2·network), lowest wins. Agent figures
 * move once per poll; leases move on every pick, so within a poll interval
 * the lease term spreads work instead of sending it all to the least-loaded
 * backend, while the metrics term keeps the busier backend's share smaller:
 * ten points of load score are worth one lease.
 *
 * Leases are per unit of weight and follow the `lease` algorithm's rules.
 * Missing metrics follow `metrics`' rules; with the fallback `none` the pick
 * ranks by leases alone.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";
import { LeaseTable } from "../load/leases.js";
import type { ResourceReportStore, ResourceSample } from "../load/resource-reports.js";
import type { AlgorithmDefinition, AlgorithmEnv } from "./definition.js";
import { leaseDurationSchema, leasesPerWeight, releaseOnFinishSchema } from "./lease.js";
import {
  describeSample,
  fixed,
  type LoadWeights,
  loadScore,
  loadWeightsSchema,
  netCapacitySchema,
  ResourceScanSelector,
} from "./reported-load.js";

const hybridOptions = z.strictObject({
  weights: loadWeightsSchema,
  netCapacityBytesPerSec: netCapacitySchema,
  leaseWeight: z
    .number()
    .min(0)
    .max(1_000_000)
    .default(10)
    .describe("score points per live lease (LEASE_COUNT_WEIGHT)"),
  leaseDurationMs: leaseDurationSchema,
  releaseOnFinish: releaseOnFinishSchema,
});

export class HybridSelector extends ResourceScanSelector {
  readonly name = "hybrid";
  readonly leases: LeaseTable;
  #weights: LoadWeights;
  #netCapacity: number;
  #leaseWeight: number;

  constructor(options: z.output<typeof hybridOptions>, env: AlgorithmEnv) {
    super(env.resourceReports);
    this.#weights = options.weights;
    this.#netCapacity = options.netCapacityBytesPerSec;
    this.#leaseWeight = options.leaseWeight;
    this.leases = new LeaseTable({
      durationMs: options.leaseDurationMs,
      releaseOnFinish: options.releaseOnFinish,
      now: env.now,
    });
  }

  override rebuild(backends: readonly Backend[]): void {
    super.rebuild(backends);
    this.leases.retain(backends);
  }

  observe(backend: Backend, _outcome: Outcome): void {
    this.leases.release(backend);
  }

  protected utilisation(sample: ResourceSample): number {
    return loadScore(sample, this.#weights, this.#netCapacity);
  }

  protected override extra(backend: Backend): number {
    return this.#leaseWeight * leasesPerWeight(this.leases, backend);
  }

  protected override picked(backend: Backend): void {
    this.leases.acquire(backend);
  }

  protected explainScore(backend: Backend, store: ResourceReportStore): string {
    return `lowest leases·${this.#leaseWeight} + load score: ${fixed(this.score(backend))} (${this.leases.count(backend)} leases; ${describeSample(backend, store, this.#netCapacity)})`;
  }
}

export const hybrid: AlgorithmDefinition<z.output<typeof hybridOptions>> = {
  name: "hybrid",
  aliases: ["lease-metrics"],
  summary: "Lowest leases·10 + agent load score (0.5·cpu + 0.3·memory + 0.2·network).",
  reference: "SwarmGuard (hybrid)",
  options: hybridOptions,
  create: (options, env) => new HybridSelector(options, env),
};

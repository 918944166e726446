/**
 * Adaptive (Datapunk's AdaptiveStrategy): a performance score per backend
 * from its recent mean latency, cut by an error penalty, plus a bonus while it
 * is fully healthy. The load is in-flight work per weight divided by that
 * score, so better backends take proportionally more concurrent work rather
 * than all of it. All history is forgotten every `resetIntervalMs`, so a
 * backend punished for an old incident gets a fresh start.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, SelectorEnv } from "../core/selector.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { OutcomeWindow } from "../load/outcome-window.js";
import type { AlgorithmDefinition } from "./definition.js";
import { LeastLoadedSelector } from "./least-loaded.js";

const adaptiveOptions = z.strictObject({
  window: z.number().int().min(1).max(10_000).default(100).describe("outcomes remembered per backend"),
  latencyScaleMs: z.number().positive().default(100).describe("latency at which performance halves, ms"),
  errorPenalty: z.number().min(0).default(2).describe("score lost per unit of failure rate (x rate)"),
  healthBonus: z
    .number()
    .min(0)
    .default(0.1)
    .describe("score added while a backend is healthy (not degraded)"),
  resetIntervalMs: z.number().positive().default(300_000).describe("forget all history this often, ms"),
});

type AdaptiveOptions = z.output<typeof adaptiveOptions>;

const SCORE_FLOOR = 1e-6;

export class AdaptiveSelector extends LeastLoadedSelector {
  #window: OutcomeWindow;
  #options: AdaptiveOptions;
  #now: () => number;
  #resetAt: number;

  constructor(options: AdaptiveOptions, env: SelectorEnv) {
    const window = new OutcomeWindow(options.window);
    super("adaptive", {
      name: "load / performance score",
      load: (backend) => inFlightPerWeight(backend) / this.performance(backend),
      observe: (backend, outcome) => window.record(backend, outcome),
    });
    this.#window = window;
    this.#options = options;
    this.#now = env.now;
    this.#resetAt = env.now() + options.resetIntervalMs;
  }

  /** Performance score: latency term × error penalty + health bonus; higher is better. */
  performance(backend: Backend): number {
    const { latencyScaleMs, errorPenalty, healthBonus } = this.#options;
    const latency = this.#window.meanLatency(backend) ?? 0;
    const speed = 1 / (1 + latency / latencyScaleMs);
    const penalty = Math.max(0, 1 - errorPenalty * this.#window.failureRate(backend));
    const bonus = backend.state === "healthy" ? healthBonus : 0;
    return Math.max(SCORE_FLOOR, speed * penalty + bonus);
  }

  override pick(ctx: RequestContext, accept: Accept): Backend | undefined {
    const now = this.#now();
    if (now >= this.#resetAt) {
      this.#window.clear();
      this.#resetAt = now + this.#options.resetIntervalMs;
    }
    return super.pick(ctx, accept);
  }
}

export const adaptive: AlgorithmDefinition<AdaptiveOptions> = {
  name: "adaptive",
  summary: "Highest performance score: latency, error penalty, health bonus; history reset periodically.",
  reference: "Datapunk (AdaptiveStrategy)",
  options: adaptiveOptions,
  create: (options, env) => new AdaptiveSelector(options, env),
};

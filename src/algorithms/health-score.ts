/**
 * Health score (the ALPHA1/BETA1 balancer's HS-BS): load weighed by failure history. A
 * backend's health is its recent success rate; its score is in-flight work
 * per weight divided by health, so a backend that fails half its requests
 * looks twice as loaded (a degraded one is at half weight already). Lowest
 * score wins.
 */
import { z } from "zod";
import { inFlightPerWeight } from "../load/in-flight.js";
import { OutcomeWindow } from "../load/outcome-window.js";
import type { AlgorithmDefinition } from "./definition.js";
import { LeastLoadedSelector } from "./least-loaded.js";

const healthScoreOptions = z.strictObject({
  window: z.number().int().min(1).max(10_000).default(50).describe("outcomes remembered per backend"),
});

/** Health below this is treated as this, so a failing backend keeps a finite, very high score. */
const HEALTH_FLOOR = 0.01;

export const healthScore: AlgorithmDefinition<z.output<typeof healthScoreOptions>> = {
  name: "health-score",
  aliases: ["hs", "health_score"],
  summary: "In-flight per weight divided by health (recent success rate); lowest wins.",
  reference: "the ALPHA1/BETA1 balancer (HS-BS)",
  options: healthScoreOptions,
  create: (options) => {
    const window = new OutcomeWindow(options.window);
    return new LeastLoadedSelector("health-score", {
      name: "load / health",
      load: (backend) => inFlightPerWeight(backend) / Math.max(HEALTH_FLOOR, 1 - window.failureRate(backend)),
      observe: (backend, outcome) => window.record(backend, outcome),
    });
  },
};

/**
 * Health score (seed 003's HS-BS): load weighed by failure history. A
 * backend's health is its recent success rate (halved while degraded); its
 * score is in-flight work per weight divided by health, so a backend that
 * fails half its requests looks twice as loaded. Lowest score wins.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { OutcomeWindow } from "../load/outcome-window.js";
import { LeastLoadedSelector } from "./least-loaded.js";
import type { AlgorithmDefinition } from "./registry.js";

const healthScoreOptions = z.strictObject({
  window: z.number().int().min(1).max(10_000).default(50).describe("outcomes remembered per backend"),
  degradedFactor: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe("health multiplier while a backend is degraded"),
});

/** Health below this is treated as this, so a failing backend keeps a finite, very high score. */
const HEALTH_FLOOR = 0.01;

export const healthScore: AlgorithmDefinition<z.output<typeof healthScoreOptions>> = {
  name: "health-score",
  aliases: ["hs"],
  summary: "In-flight per weight divided by health (recent success rate); lowest wins.",
  reference: "seed 003 (HS-BS)",
  options: healthScoreOptions,
  create: (options) => {
    const window = new OutcomeWindow(options.window);
    const health = (backend: Backend) =>
      (1 - window.failureRate(backend)) * (backend.state === "degraded" ? options.degradedFactor : 1);
    return new LeastLoadedSelector("health-score", {
      name: "load / health",
      load: (backend) => inFlightPerWeight(backend) / Math.max(HEALTH_FLOOR, health(backend)),
      observe: (backend, outcome) => window.record(backend, outcome),
    });
  },
};

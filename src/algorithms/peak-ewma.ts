/**
 * Peak-EWMA: power of two choices over a peak-sensitive latency estimate
 * times the work in flight (see src/load/peak-ewma.ts). Reacts within one
 * request to a backend turning slow, which in-flight counting alone notices
 * only once requests pile up. linkerd's and Finagle's default balancer.
 */
import { z } from "zod";
import { PeakEwmaLoad } from "../load/peak-ewma.js";
import type { AlgorithmDefinition } from "./definition.js";
import { PowerOfTwoChoicesSelector } from "./power-of-two-choices.js";

const peakEwmaOptions = z.strictObject({
  decayMs: z.number().positive().default(10_000).describe("time constant for forgetting a slow peak, ms"),
  defaultRttMs: z.number().nonnegative().default(1).describe("estimate for a backend not yet measured, ms"),
  failurePenaltyMs: z
    .number()
    .nonnegative()
    .default(1_000)
    .describe("latency charged for a failed attempt, ms"),
});

export const peakEwma: AlgorithmDefinition<z.output<typeof peakEwmaOptions>> = {
  name: "peak-ewma",
  aliases: ["peak-ewma-p2c"],
  summary: "Two random choices, the lower peak-EWMA latency × (in flight + 1) per weight wins.",
  reference: "Finagle / linkerd peak EWMA; tower load::PeakEwma",
  options: peakEwmaOptions,
  create: (options, env) =>
    new PowerOfTwoChoicesSelector(env, new PeakEwmaLoad(options, env.now), "peak-ewma"),
};

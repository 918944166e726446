/**
 * Least latency (DWCP): the ready backend with the lowest response-time
 * EWMA (α default 0.2) times its work in flight + 1. Unmeasured backends go
 * first so every backend gets a sample. Weights are ignored: latency already
 * says how much a backend copes with.
 */
import { z } from "zod";
import { EwmaLatencyLoad } from "../load/ewma-latency.js";
import type { AlgorithmDefinition } from "./definition.js";
import { LeastLoadedSelector } from "./least-loaded.js";

const leastLatencyOptions = z.strictObject({
  alpha: z.number().gt(0).max(1).default(0.2).describe("EWMA smoothing factor: weight of the newest sample"),
  failurePenaltyMs: z
    .number()
    .nonnegative()
    .default(1_000)
    .describe("latency charged for a failed attempt, ms"),
});

export const leastLatency: AlgorithmDefinition<z.output<typeof leastLatencyOptions>> = {
  name: "least-latency",
  aliases: ["ewma", "least-response-time"],
  summary: "Lowest response-time EWMA (alpha 0.2) × (in flight + 1); unmeasured backends first.",
  reference: "DWCP (least-latency)",
  options: leastLatencyOptions,
  create: (options) => new LeastLoadedSelector("least-latency", new EwmaLatencyLoad(options)),
};

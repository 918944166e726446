/**
 * Response time (the ALPHA1/BETA1 balancer's RRT-BS): the ready backend with the lowest mean
 * response time over its last `window` successful responses. Unlike the EWMA
 * of least-latency, every sample in the window counts equally and older ones
 * drop out entirely. As in least-latency, the mean is multiplied by the work
 * in flight + 1 so the fastest backend is not sent everything. Unmeasured
 * backends go first.
 */
import { z } from "zod";
import { OutcomeWindow } from "../load/outcome-window.js";
import type { AlgorithmDefinition } from "./definition.js";
import { LeastLoadedSelector } from "./least-loaded.js";

const responseTimeOptions = z.strictObject({
  window: z.number().int().min(1).max(10_000).default(50).describe("responses averaged per backend"),
});

export const responseTime: AlgorithmDefinition<z.output<typeof responseTimeOptions>> = {
  name: "response-time",
  aliases: ["rrt", "response_time"],
  summary: "Lowest mean response time over each backend's last N responses × (in flight + 1).",
  reference: "the ALPHA1/BETA1 balancer (RRT-BS)",
  options: responseTimeOptions,
  create: (options) => {
    const window = new OutcomeWindow(options.window);
    return new LeastLoadedSelector("response-time", {
      name: "mean response time ms × (in flight + 1)",
      load: (backend) => (window.meanLatency(backend) ?? 0) * (backend.inFlight + 1),
      observe: (backend, outcome) => window.record(backend, outcome),
    });
  },
};

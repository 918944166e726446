/** Logging: level, format, the access log and the kept routing decisions. */
import { z } from "zod";
import { numberIn } from "../../core/numbers.js";
import { LOG_FORMATS } from "../../observability/log-format.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const logSchema = z.strictObject({
  level: z
    .enum(LOG_LEVELS)
    .default("info")
    .describe("log level; debug also logs every routing decision, failover, retry and agent poll"),
  format: z
    .enum(LOG_FORMATS)
    .default("auto")
    .describe(
      "json (one JSON object per line), pretty (readable text) or auto: pretty on a terminal, JSON otherwise",
    ),
  access: z
    .strictObject({
      enabled: z.boolean().default(true).describe("false turns the access log off"),
      sample: numberIn(1, 1_000_000, { int: true }).default(1).describe("log every sample-th request"),
    })
    .optional()
    .describe("the access log: one JSON line per sampled request; off when absent"),
  decisions: z
    .strictObject({
      sample: numberIn(0, 1_000_000, { int: true })
        .default(1)
        .describe("keep every sample-th decision (0: none)"),
      capacity: numberIn(1, 10_000, { int: true }).default(100).describe("decisions kept per pool"),
    })
    .optional()
    .describe("recent routing decisions kept per pool for /api/explain"),
});

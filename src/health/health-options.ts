/**
 * Options for active health checks, passive outlier detection and slow start:
 * one zod schema per feature, shared by the library (`BalancerOptions`) and the
 * config file (`pools.NAME.healthCheck`, `.outlierDetection`, `.slowStart`), so
 * both accept, reject and default the same values. Parsing is idempotent (the
 * output is valid input), so the runtime hands a parsed config straight to the
 * balancer. Defaults follow the original systems: rise 2, fall 3, 5 consecutive failures
 * to eject, never more than 50% of a pool ejected.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import { durationMs } from "../core/duration.js";

export const HEALTH_CHECK_TYPES = ["http", "tcp", "grpc", "command"] as const;
export const HEALTH_CHECK_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const wholeNumber = (min: number, max: number) => {
  const error = `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const EXPECT_STATUS =
  'expected an HTTP status (200), a range ("200-399"), or a list of them, with statuses from 100 to 599';

/** Closed status ranges `[low, high]`; undefined when `spec` is not a valid status expectation. */
export function parseStatusRanges(spec: unknown): [number, number][] | undefined {
  const items = Array.isArray(spec) ? spec : [spec];
  if (items.length === 0) return undefined;
  const ranges: [number, number][] = [];
  for (const item of items) {
    const range = parseStatusRange(item);
    if (!range) return undefined;
    ranges.push(range);
  }
  return ranges;
}

function parseStatusRange(item: unknown): [number, number] | undefined {
  let low: number;
  let high: number;
  if (typeof item === "number") {
    low = item;
    high = item;
  } else if (typeof item === "string") {
    const match = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(item);
    if (!match) return undefined;
    low = Number(match[1]);
    high = Number(match[2] ?? match[1]);
  } else {
    return undefined;
  }
  const valid = (status: number) => Number.isInteger(status) && status >= 100 && status <= 599;
  return valid(low) && valid(high) && low <= high ? [low, high] : undefined;
}

export const expectStatusSchema = z
  .union([z.number(), z.string(), z.array(z.union([z.number(), z.string()])).min(1)], {
    error: EXPECT_STATUS,
  })
  .superRefine((value, ctx) => {
    if (!parseStatusRanges(value)) ctx.addIssue({ code: "custom", message: EXPECT_STATUS });
  });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the check's HTTP client sets itself; giving them would break every check. */
const RESERVED_HEADERS = new Set([
  "connection",
  "content-length",
  "expect",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);
const HEADERS_EXPECTED =
  "expected header names (letters, digits, - and the like) with text values without line breaks";

/** Extra request headers of an HTTP check (a Host for virtual hosting, a token, a user agent). */
export const checkHeadersSchema = z
  .record(z.string(), z.string({ error: HEADERS_EXPECTED }), { error: HEADERS_EXPECTED })
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value))
        ctx.addIssue({ code: "custom", path: [name], message: HEADERS_EXPECTED });
      else if (RESERVED_HEADERS.has(name.toLowerCase()))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `expected a header the check does not set itself (not ${[...RESERVED_HEADERS].join(", ")})`,
        });
    }
  });

export const healthCheckSchema = z
  .strictObject({
    type: z
      .enum(HEALTH_CHECK_TYPES)
      .default("http")
      .describe("http request, tcp connect, grpc health call (grpc.health.v1), or a command"),
    path: z
      .string({ error: 'expected a request path starting with "/"' })
      .regex(/^\//, { error: 'expected a request path starting with "/"' })
      .default("/health")
      .describe("path an HTTP check requests"),
    method: z.enum(HEALTH_CHECK_METHODS).default("GET").describe("method of an HTTP check"),
    expectStatus: expectStatusSchema
      .default("200-399")
      .describe('statuses that pass an HTTP check: a status, a range ("200-399") or a list of them'),
    headers: checkHeadersSchema.optional().describe("request headers sent with each HTTP check"),
    body: z.string().min(1).optional().describe("substring the response body must contain"),
    command: z.string().min(1).optional().describe("shell command (type command); exit 0 means healthy"),
    service: z
      .string()
      .optional()
      .describe("service a grpc check asks about; absent or empty asks about the server as a whole"),
    timeoutMs: durationMs(1, 600_000).default(2_000).describe("a check slower than this fails"),
    intervalMs: durationMs(1, 3_600_000).default(5_000).describe("time between checks of a backend"),
    maxIntervalMs: durationMs(1, 3_600_000)
      .default(60_000)
      .describe("cap on the interval while it doubles for an unhealthy backend"),
    jitter: z
      .number({ error: "expected a number from 0 to 0.5" })
      .min(0, { error: "expected a number from 0 to 0.5" })
      .max(0.5, { error: "expected a number from 0 to 0.5" })
      .default(0.1)
      .describe("random spread of each interval, as a share (0.1 = ±10%)"),
    rise: wholeNumber(1, 100).default(2).describe("consecutive passes that make a backend healthy"),
    fall: wholeNumber(1, 100).default(3).describe("consecutive failures that make a backend unhealthy"),
    degradedLatencyMs: durationMs(1, 600_000)
      .optional()
      .describe("a passing check slower than this marks the backend degraded"),
  })
  .superRefine((options, ctx) => {
    if (options.type === "command" && options.command === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["command"],
        message: 'expected a shell command (required when type is "command")',
      });
    }
    if (options.type !== "http" && options.headers !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["headers"],
        message: 'expected no headers unless type is "http"',
      });
    }
    if (options.type !== "grpc" && options.service !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["service"],
        message: 'expected no service unless type is "grpc"',
      });
    }
    if (options.type !== "command" && options.command !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["command"],
        message: 'expected no command unless type is "command"',
      });
    }
  });

export const outlierDetectionSchema = z.strictObject({
  consecutiveFailures: wholeNumber(1, 10_000)
    .default(5)
    .describe("consecutive failed requests (transport error or 5xx) that eject a backend"),
  baseEjectionMs: durationMs(1, 86_400_000)
    .default(30_000)
    .describe("ejection time, multiplied by the number of times the backend was ejected"),
  maxEjectionMs: durationMs(1, 86_400_000).default(300_000).describe("cap on one ejection's time"),
  maxEjectedPercent: z
    .number({ error: "expected a number from 0 to 100" })
    .min(0, { error: "expected a number from 0 to 100" })
    .max(100, { error: "expected a number from 0 to 100" })
    .default(50)
    .describe("share of the pool that may be ejected at once"),
});

export const slowStartSchema = z.strictObject({
  durationMs: durationMs(0, 3_600_000)
    .default(0)
    .describe("time over which an added or recovered backend's weight ramps from 10% to 100%; 0 = off"),
});

/** `false` or the detector's options, as the config file writes it. */
export const outlierDetectionSetting = z.union([z.literal(false), outlierDetectionSchema], {
  error:
    "expected false or an object { consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectedPercent }",
});

export type HealthCheckSettings = z.output<typeof healthCheckSchema>;
export type OutlierDetectionSettings = z.output<typeof outlierDetectionSchema>;
export type SlowStartSettings = z.output<typeof slowStartSchema>;

/**
 * A custom check (library only): resolve true for healthy. `signal` aborts at
 * the check's timeout; a check that ignores it is still abandoned then.
 */
export type CustomHealthCheck = (backend: Backend, signal: AbortSignal) => Promise<boolean>;

export type HealthCheckOptions = z.input<typeof healthCheckSchema> & {
  /** A function replacing the built-in kinds; leave `type` unset when giving one. */
  check?: CustomHealthCheck;
};
export type OutlierDetectionOptions = z.input<typeof outlierDetectionSchema>;
export type SlowStartOptions = z.input<typeof slowStartSchema>;

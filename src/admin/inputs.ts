/**
 * Admin API inputs, validated with the config's own schemas (a backend here
 * is a `backendSchema` backend, an algorithm an `algorithmSchema` algorithm),
 * so the API and the config file accept the same shapes and word their
 * errors the same way: each problem names its field, the value found and
 * what was expected.
 */
import { z } from "zod";
import { type AlgorithmSpec, resolveAlgorithm } from "../algorithms/registry.js";
import { toConfigIssues } from "../config/errors.js";
import { algorithmSchema, backendSchema, configKeysAt } from "../config/schema.js";
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { AdminError, type AdminErrorCode } from "./admin-errors.js";

const poolName = z.string({ error: "expected a pool name" }).min(1, { error: "expected a pool name" });

/** POST /api/servers: a config backend plus the pool to add it to. */
export const addServerInput = backendSchema.extend({ pool: poolName.optional() });

/** PATCH /api/servers/:id: the operator settings that can change on a live backend. */
export const patchServerInput = z
  .strictObject({
    pool: poolName.optional(),
    weight: backendSchema.shape.weight.unwrap().optional(),
    enabled: z.boolean({ error: "expected true or false" }).optional(),
  })
  .refine((input) => input.weight !== undefined || input.enabled !== undefined, {
    error: "expected at least one of weight, enabled",
  });

const MAX_DRAIN_TIMEOUT_MS = 600_000;
const drainTimeoutError = `expected a whole number from 1 to ${MAX_DRAIN_TIMEOUT_MS} (milliseconds)`;

/** DELETE /api/servers/:id query: `?pool=&drain=true|false&timeoutMs=`. */
export const deleteServerQuery = z.strictObject({
  pool: poolName.optional(),
  drain: z
    .enum(["true", "false", "1", "0"], { error: 'expected "true" or "false"' })
    .transform((value) => value === "true" || value === "1")
    .optional(),
  timeoutMs: z
    .string()
    .regex(/^\d+$/, { error: drainTimeoutError })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, { error: drainTimeoutError })
        .max(MAX_DRAIN_TIMEOUT_MS, { error: drainTimeoutError }),
    )
    .optional(),
});

/** `?pool=` alone, for reads that may narrow to one pool. */
export const poolQuery = z.strictObject({ pool: poolName.optional() });

/**
 * POST /api/strategy: `{ pool?, algorithm }`, or `{ strategy }` as the
 * ALPHA1/BETA1 balancer spells it; the answer always says `algorithm`.
 */
export const strategyInput = z
  .strictObject({
    pool: poolName.optional(),
    algorithm: algorithmSchema.optional(),
    strategy: algorithmSchema.optional(),
  })
  .superRefine((input, context) => {
    if (input.algorithm === undefined && input.strategy === undefined) {
      context.addIssue({
        code: "custom",
        path: ["algorithm"],
        message: "an algorithm name (or send it as strategy)",
      });
    } else if (input.algorithm !== undefined && input.strategy !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["strategy"],
        message: "expected algorithm or strategy, not both",
      });
    }
  })
  .transform(({ pool, algorithm, strategy }) => ({
    pool,
    algorithm: (algorithm ?? strategy) as AlgorithmSpec,
  }));

export type Where = "request body" | "query";

/**
 * Parses `input` (an empty body counts as `{}`) or throws a 400 whose message
 * names every bad field; the issues also travel as `issues` in the body.
 */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  where: Where,
  code: (input: unknown) => AdminErrorCode = () => ErrorCodes.BAD_REQUEST,
): z.output<Schema> {
  const value = input === undefined ? {} : input;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toConfigIssues(result.error.issues, value, (path) => configKeysAt(path, schema));
  const lines = issues.map((issue) => `${issue.path}: ${issue.message}`);
  throw new AdminError(code(value), `invalid ${where}: ${lines.join("; ")}`, {
    extra: {
      issues: issues.map(({ path, kind, expected, found, message, suggestion }) => ({
        path,
        kind,
        expected,
        found,
        message,
        suggestion,
      })),
    },
  });
}

/** The query string as an object of its first values, for `parseInput`. */
export function queryObject(query: URLSearchParams): Record<string, string> {
  const object: Record<string, string> = {};
  for (const [key, value] of query) if (!(key in object)) object[key] = value;
  return object;
}

/**
 * The error code for a rejected strategy body: the algorithm's own coded
 * error (SY_ERR_UNKNOWN_ALGORITHM, SY_ERR_INVALID_OPTIONS) when the algorithm
 * is at fault, SY_ERR_BAD_REQUEST otherwise.
 */
export function strategyErrorCode(input: unknown): AdminErrorCode {
  const body = input as { algorithm?: unknown; strategy?: unknown } | null;
  const spec = body?.algorithm ?? body?.strategy;
  const shaped =
    typeof spec === "string" ||
    (typeof spec === "object" && spec !== null && typeof (spec as { name?: unknown }).name === "string");
  if (!shaped) return ErrorCodes.BAD_REQUEST;
  try {
    resolveAlgorithm(spec as Parameters<typeof resolveAlgorithm>[0]);
  } catch (error) {
    if (isSwitchyardError(error)) return error.code;
  }
  return ErrorCodes.BAD_REQUEST;
}

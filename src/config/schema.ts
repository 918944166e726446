/**
 * The configuration schema: one zod schema for files, environment overrides and
 * CLI flags alike. Objects are strict, so a typo is an error rather than a
 * silently ignored key; defaults are filled here so the runtime reads one fully
 * resolved shape. Field checks (addresses, listen strings, algorithm options)
 * sit on the field itself so their issues carry the field's path; checks that
 * span fields (pool references, unique names and ids) run in one refinement at
 * the root, also when other fields are already invalid, so one run reports
 * every problem.
 *
 * The sections live in schema/ (pool, listener, route, admin, log, the
 * cross-field checks, key introspection); this file puts them together and is
 * what the rest of the code imports.
 */
import { z } from "zod";
import { durationMs } from "../core/duration.js";
import { configStoreSchema } from "./config-store-schema.js";
import type { PathSegment } from "./errors.js";
import { adminSchema } from "./schema/admin.js";
import { crossCheck } from "./schema/cross-checks.js";
import { name } from "./schema/fields.js";
import { schemaKeysAt } from "./schema/keys.js";
import { listenerSchema } from "./schema/listener.js";
import { logSchema } from "./schema/log.js";
import { type backendSchema, poolSchema } from "./schema/pool.js";

export { adminSchema, DEFAULT_ADMIN_LISTEN } from "./schema/admin.js";
export { type ListenAddress, parseListenAddress } from "./schema/fields.js";
export { objectKeys } from "./schema/keys.js";
export { listenerSchema, PROTOCOLS, timeoutsSchema } from "./schema/listener.js";
export { LOG_LEVELS, logSchema } from "./schema/log.js";
export { algorithmSchema, backendSchema, poolSchema } from "./schema/pool.js";
export { rateLimitSchema, routeMatchSchema, routeSchema } from "./schema/route.js";

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export const configSchema = z
  .strictObject({
    listeners: z
      .array(listenerSchema)
      .min(1)
      .describe("the listening sockets (at least one), each proxying to one pool"),
    pools: z.record(name(), poolSchema).describe("the backend pools, by name"),
    admin: adminSchema.optional().describe("the admin API and dashboard; not started when absent"),
    configStore: configStoreSchema
      .optional()
      .describe(
        "where the pools (and listeners' routes) live: this file when absent, or etcd shared by several instances",
      ),
    log: logSchema.prefault({}).describe("logging"),
    shutdownGraceMs: durationMs(0, 3_600_000)
      .default(DEFAULT_SHUTDOWN_GRACE_MS)
      .describe("time in-flight work gets to finish on SIGINT/SIGTERM"),
  })
  .superRefine(crossCheck, { when: () => true });

export type SwitchyardConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type BackendConfig = z.output<typeof backendSchema>;

/**
 * Known keys of the object at `path` in the config schema (or in `schema`, a
 * part of it), for "did you mean" suggestions; undefined when the path does
 * not lead to a fixed-shape object.
 */
export function configKeysAt(
  path: readonly PathSegment[],
  schema: unknown = configSchema,
): string[] | undefined {
  return schemaKeysAt(path, schema);
}

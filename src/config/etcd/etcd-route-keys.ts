/**
 * How listeners' routes are laid out in etcd under the key prefix P, beside
 * the pools (discovery/etcd-pool-keys.ts):
 *
 *   P listeners/NAME/routes     → the HTTP listener's whole ordered route list as a JSON array
 *
 * One key holds the whole list: the first matching route wins, so the order
 * is part of the value, and a writer replaces it atomically (no instance
 * ever reads half of a reordering). Only the config store reads these keys,
 * so they live here rather than in discovery/. Values are written as the
 * config file writes routes; the schema validates them when an instance
 * merges them over its file. This file names the keys and turns stored
 * entries back into route lists, reporting every malformed key or value.
 */
import { ErrorCodes, SwitchyardError } from "../../core/errors.js";
import { jsonNestingExceededAt, MAX_NESTING_DEPTH } from "../../core/nesting.js";
import type { StoredEntry } from "../../discovery/etcd-pool-keys.js";
import { name as listenerName } from "../schema/fields.js";

/** Listener name → its raw route list, as stored. */
export type StoredRoutes = Record<string, unknown[]>;

const ROUTES = "/routes";

/** `P listeners/`: every listener key starts with it. */
export function listenersPrefix(prefix: string): string {
  return `${prefix}listeners/`;
}

export function routesKey(prefix: string, listener: string): string {
  return `${listenersPrefix(prefix)}${listener}${ROUTES}`;
}

/**
 * Route lists from the entries under `P listeners/`. Throws SY_ERR_CONFIG
 * listing every malformed key or value.
 */
export function routesFromEntries(prefix: string, entries: readonly StoredEntry[]): StoredRoutes {
  const root = listenersPrefix(prefix);
  const routes: StoredRoutes = {};
  const problems: string[] = [];
  for (const { key, value } of entries) {
    const path = key.startsWith(root) ? key.slice(root.length) : "";
    const name = path.endsWith(ROUTES) ? path.slice(0, -ROUTES.length) : "";
    if (!listenerName().safeParse(name).success) {
      problems.push(
        `${key}: not a listener's routes key (expected ${root}NAME${ROUTES}, NAME a listener's name)`,
      );
      continue;
    }
    // Checked before parsing: what walks the value later (zod, comparisons) would overflow the stack.
    if (jsonNestingExceededAt(value) !== -1) {
      problems.push(`${key}: nests lists and objects deeper than ${MAX_NESTING_DEPTH} levels`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      problems.push(`${key}: not JSON (${(error as Error).message})`);
      continue;
    }
    if (!Array.isArray(parsed)) {
      problems.push(
        `${key}: expected a JSON array of routes, found ${String(JSON.stringify(parsed)).slice(0, 60)}`,
      );
      continue;
    }
    routes[name] = parsed;
  }
  if (problems.length > 0) {
    const lines = problems.map((problem) => `  - ${problem}`);
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      `invalid routes in etcd under ${root} (${problems.length} ${problems.length === 1 ? "problem" : "problems"}):\n${lines.join("\n")}`,
      { problems },
    );
  }
  return routes;
}

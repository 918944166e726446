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
import {
  parseStoredJson,
  type StoredEntry,
  throwStoredProblems,
  UNREADABLE,
} from "../../discovery/etcd-pool-keys.js";
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
    const parsed = parseStoredJson(key, value, problems);
    if (parsed === UNREADABLE) continue;
    if (!Array.isArray(parsed)) {
      problems.push(
        `${key}: expected a JSON array of routes, found ${String(JSON.stringify(parsed)).slice(0, 60)}`,
      );
      continue;
    }
    routes[name] = parsed;
  }
  throwStoredProblems("routes", root, problems);
  return routes;
}

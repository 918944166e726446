/**
 * How pools are laid out in etcd under a key prefix P (default `/switchyard/`):
 *
 *   P pools/NAME                → the pool's settings as JSON (algorithm, healthCheck, …; no backends)
 *   P pools/NAME/backends/ID    → one backend as JSON, ID percent-encoded
 *
 * Beside them, `P listeners/NAME/routes` holds an HTTP listener's route list;
 * only the config store reads it (config/etcd/etcd-route-keys.ts).
 *
 * One key per backend, so instances writing different backends never touch
 * the same key. Values are written as the config file writes them; the
 * schema validates them when an instance merges them over its file. This file
 * turns raw pools into keys and back, reporting every malformed key or value.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import { jsonNestingExceededAt, MAX_NESTING_DEPTH } from "../core/nesting.js";

/** A raw pool as in a config file: settings plus `backends`. */
export type RawPool = Record<string, unknown>;

export interface StoredEntry {
  key: string;
  value: string;
}

const BACKENDS = "/backends/";

/** `P pools/`: every pool key starts with it. */
export function poolsPrefix(prefix: string): string {
  return `${prefix}pools/`;
}

export function poolKey(prefix: string, pool: string): string {
  return `${poolsPrefix(prefix)}${pool}`;
}

export function backendKey(prefix: string, pool: string, id: string): string {
  return `${poolKey(prefix, pool)}${BACKENDS}${encodeURIComponent(id)}`;
}

/** A raw backend's identity: its id, or its address when it has none (as the pool names it). */
export function rawBackendId(backend: unknown): string | undefined {
  if (!isRecord(backend)) return undefined;
  if (typeof backend.id === "string") return backend.id;
  return typeof backend.address === "string" ? backend.address : undefined;
}

/**
 * The keys and values that store `pool` (settings key first). Throws
 * SY_ERR_CONFIG when a backend has neither an id nor an address, since it
 * would have no key; the schema rejects such a pool anyway.
 */
export function poolEntries(prefix: string, name: string, pool: RawPool): StoredEntry[] {
  const { backends, ...settings } = pool;
  const entries: StoredEntry[] = [{ key: poolKey(prefix, name), value: JSON.stringify(settings) }];
  for (const [index, backend] of (Array.isArray(backends) ? backends : []).entries()) {
    const id = rawBackendId(backend);
    if (id === undefined) {
      throw new SwitchyardError(
        ErrorCodes.CONFIG,
        `pools.${name}.backends[${index}]: expected a backend with an address (or an id) to name its key`,
      );
    }
    entries.push({ key: backendKey(prefix, name, id), value: JSON.stringify(backend) });
  }
  return entries;
}

/**
 * Raw pools from the entries under `P pools/`. A pool exists when any key of
 * it does; without its settings key its settings are the defaults. Backends
 * come in key order. Throws SY_ERR_CONFIG listing every malformed key or value.
 */
export function poolsFromEntries(prefix: string, entries: readonly StoredEntry[]): Record<string, RawPool> {
  const root = poolsPrefix(prefix);
  const pools: Record<string, RawPool> = {};
  const problems: string[] = [];
  const poolOf = (name: string) => {
    pools[name] ??= { backends: [] };
    return pools[name];
  };
  for (const { key, value } of entries) {
    const path = key.startsWith(root) ? key.slice(root.length) : undefined;
    const slash = path?.indexOf("/") ?? -1;
    const name = path === undefined ? "" : slash === -1 ? path : path.slice(0, slash);
    const rest = path === undefined || slash === -1 ? "" : path.slice(slash);
    if (name === "" || (rest !== "" && !rest.startsWith(BACKENDS))) {
      problems.push(`${key}: not a pool key (expected ${root}NAME or ${root}NAME${BACKENDS}ID)`);
      continue;
    }
    const parsed = parseStoredJson(key, value, problems);
    if (parsed === UNREADABLE) continue;
    if (!isRecord(parsed)) {
      problems.push(`${key}: expected a JSON object, found ${JSON.stringify(parsed).slice(0, 60)}`);
      continue;
    }
    if (rest === "") {
      if ("backends" in parsed) {
        problems.push(`${key}: pool settings must not hold backends; each backend has its own key`);
        continue;
      }
      const pool = poolOf(name);
      pools[name] = { ...parsed, backends: pool.backends };
      continue;
    }
    const encoded = rest.slice(BACKENDS.length);
    let id: string;
    try {
      id = decodeURIComponent(encoded);
    } catch {
      problems.push(`${key}: malformed percent-encoding in the backend id`);
      continue;
    }
    if (rawBackendId(parsed) !== id) {
      problems.push(
        `${key}: the key names backend "${id}" but its value is backend "${rawBackendId(parsed) ?? "(no id or address)"}"`,
      );
      continue;
    }
    (poolOf(name).backends as unknown[]).push(parsed);
  }
  throwStoredProblems("pools", root, problems);
  return pools;
}

/** What `parseStoredJson` returns for a value it could not read (the reason went to `problems`). */
export const UNREADABLE = Symbol("unreadable stored value");

/**
 * A stored value's JSON, or UNREADABLE with the reason pushed to `problems`:
 * nested too deep (checked before parsing: what walks the value later, zod or
 * comparisons, would overflow the stack) or not JSON.
 */
export function parseStoredJson(key: string, value: string, problems: string[]): unknown {
  if (jsonNestingExceededAt(value) !== -1) {
    problems.push(`${key}: nests lists and objects deeper than ${MAX_NESTING_DEPTH} levels`);
    return UNREADABLE;
  }
  try {
    return JSON.parse(value);
  } catch (error) {
    problems.push(`${key}: not JSON (${(error as Error).message})`);
    return UNREADABLE;
  }
}

/** Throws SY_ERR_CONFIG listing every problem found reading `what` (pools, routes) under `root`. */
export function throwStoredProblems(what: string, root: string, problems: string[]): void {
  if (problems.length === 0) return;
  const lines = problems.map((problem) => `  - ${problem}`);
  throw new SwitchyardError(
    ErrorCodes.CONFIG,
    `invalid ${what} in etcd under ${root} (${problems.length} ${problems.length === 1 ? "problem" : "problems"}):\n${lines.join("\n")}`,
    { problems },
  );
}

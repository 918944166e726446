/**
 * The backends file of file discovery: a JSON array whose items are
 * `"host:port"` strings or backend objects as a pool's `backends` take them
 * (`address`, `id`, `weight`, `region`, `latitude`, `longitude`, `labels`,
 * `enabled`), ids unique. etcd discovery checks a pool's stored backends by
 * the same rules. JSON only, so the client entry point needs no YAML
 * parser; tools that generate such files (consul-template, confd, a
 * Kubernetes operator) write JSON as readily.
 *
 *   ["10.0.0.1:8080", { "address": "10.0.0.2:8080", "weight": 3 }]
 */
import { z } from "zod";
import type { BackendSpec } from "../core/backend.js";
import { backendSpecSchema } from "../core/backend-schema.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { jsonNestingExceededAt, MAX_NESTING_DEPTH } from "../core/nesting.js";

const fileSchema = z.array(
  z.preprocess((item) => (typeof item === "string" ? { address: item } : item), backendSpecSchema),
  { error: 'expected a JSON array of backends ("host:port" or { "address": ... })' },
);

const fail = (problem: string) => new SwitchyardError(ErrorCodes.CONFIG, problem);

/**
 * The backends `text` lists; throws SY_ERR_CONFIG with every problem on one
 * line (the caller names the file).
 */
export function parseBackendsFile(text: string): BackendSpec[] {
  if (jsonNestingExceededAt(text) >= 0) {
    throw fail(`lists and objects nested deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw fail(`invalid JSON: ${(error as Error).message}`);
  }
  return parseBackendList(data);
}

/**
 * Backends from parsed JSON (the file's, or a pool's backends in etcd) by
 * the file's rules; throws SY_ERR_CONFIG with every problem on one line.
 */
export function parseBackendList(data: unknown): BackendSpec[] {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    throw fail(parsed.error.issues.map((issue) => `${pathText(issue.path)}${issue.message}`).join("; "));
  }
  const seen = new Map<string, number>();
  const duplicates: string[] = [];
  parsed.data.forEach((backend, index) => {
    const id = backend.id ?? backend.address;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else
      duplicates.push(
        `[${index}]: backend "${id}" is also [${first}] (give distinct ids to repeat an address)`,
      );
  });
  if (duplicates.length > 0) throw fail(duplicates.join("; "));
  return parsed.data;
}

/** `[2].weight: ` for an issue's path; nothing for the root. */
function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "";
  const text = path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("");
  return `${text.replace(/^\./, "")}: `;
}

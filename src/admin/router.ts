/**
 * A small method + path router for the admin API. Patterns are literal
 * segments and `:name` parameters (`/api/servers/:id`); parameters are
 * percent-decoded, so an id such as `http://host:80` travels as one segment
 * (`http%3A%2F%2Fhost%3A80`). A path known under other methods yields the
 * methods it does accept, for 405 answers and preflights; HEAD follows GET.
 */
import { ErrorCodes } from "../core/errors.js";
import { AdminError } from "./admin-errors.js";

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface Route<Handler> {
  method: Method;
  pattern: string;
  handler: Handler;
}

export type RouteMatch<Handler> =
  | { kind: "found"; route: Route<Handler>; params: Record<string, string> }
  /** The path exists, under these methods only. */
  | { kind: "method"; methods: Method[] }
  | { kind: "none" };

interface CompiledRoute<Handler> extends Route<Handler> {
  segments: string[];
}

export class Router<Handler> {
  #routes: CompiledRoute<Handler>[] = [];

  add(method: Method, pattern: string, handler: Handler): this {
    this.#routes.push({ method, pattern, handler, segments: split(pattern) });
    return this;
  }

  /** Finds the route for `method` and `path` (no query string). Throws 400 on malformed escapes. */
  match(method: string, path: string): RouteMatch<Handler> {
    const parts = split(path);
    const wanted = method === "HEAD" ? "GET" : method;
    const methods: Method[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === wanted) return { kind: "found", route, params };
      if (!methods.includes(route.method)) methods.push(route.method);
    }
    return methods.length > 0 ? { kind: "method", methods } : { kind: "none" };
  }
}

function split(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function matchSegments(
  pattern: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index] as string;
    const actual = parts[index] as string;
    if (expected.startsWith(":")) params[expected.slice(1)] = decode(actual);
    else if (expected !== actual) return undefined;
  }
  return params;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AdminError(ErrorCodes.BAD_REQUEST, `malformed percent-encoding in path segment "${segment}"`);
  }
}

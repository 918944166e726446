/**
 * What a route matches (Envoy's route match, Traefik's rule, HAProxy's ACLs
 * before `use_backend`): every condition given must hold, and a route with
 * none matches every request.
 * - `host`: one name or several; case-insensitive, the port ignored;
 *   `*.example.com` matches any name under example.com (not example.com itself).
 * - `path` (exact), `pathPrefix` (`/api` matches `/api`, `/api/x`, `/api?q`,
 *   not `/apix`; a prefix ending in `/` matches by plain prefix), or
 *   `pathRegex` (JavaScript syntax, tested against the whole path): one of
 *   them. The query string is not part of the path.
 * - `methods`: upper-case method names.
 * - `headers`: name → exact value (names case-insensitive; a repeated field
 *   is matched as node joins it).
 * - `query`: parameter → exact value (the first occurrence).
 */
import type { HeaderObject } from "../http1/client-request.js";

export interface RouteMatchSpec {
  host?: string | readonly string[];
  path?: string;
  pathPrefix?: string;
  pathRegex?: string;
  methods?: readonly string[];
  headers?: Readonly<Record<string, string>>;
  query?: Readonly<Record<string, string>>;
}

/** The request fields a route looks at. */
export interface RoutedRequest {
  readonly method: string;
  /** Origin-form target: path and query. */
  readonly url: string;
  readonly headers: HeaderObject;
}

export type RouteMatcher = (request: RoutedRequest) => boolean;

/** Compiles `spec` into one predicate; an invalid regular expression throws a SyntaxError. */
export function compileRouteMatch(spec: RouteMatchSpec = {}): RouteMatcher {
  const tests: RouteMatcher[] = [];
  if (spec.host !== undefined) tests.push(hostTest(typeof spec.host === "string" ? [spec.host] : spec.host));
  const path = pathTest(spec);
  if (path !== undefined) tests.push((request) => path(pathOf(request.url)));
  if (spec.methods !== undefined) {
    const methods = new Set(spec.methods);
    tests.push((request) => methods.has(request.method));
  }
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    const lower = name.toLowerCase();
    tests.push((request) => request.headers[lower] === value);
  }
  const query = Object.entries(spec.query ?? {});
  if (query.length > 0) {
    tests.push((request) => {
      const at = request.url.indexOf("?");
      if (at < 0) return false;
      const params = new URLSearchParams(request.url.slice(at + 1));
      return query.every(([name, value]) => params.get(name) === value);
    });
  }
  if (tests.length === 0) return () => true;
  return (request) => tests.every((test) => test(request));
}

/**
 * `spec` in one short line for people (the dashboard):
 * `GET,POST api.example.com /v1/* x-canary=1 ?debug=1`; "" when it matches every request.
 */
export function describeRouteMatch(spec: RouteMatchSpec = {}): string {
  const parts: string[] = [];
  if (spec.methods !== undefined) parts.push(spec.methods.join(","));
  if (spec.host !== undefined) parts.push(typeof spec.host === "string" ? spec.host : spec.host.join(","));
  if (spec.path !== undefined) parts.push(spec.path);
  if (spec.pathPrefix !== undefined) parts.push(`${spec.pathPrefix.replace(/\/$/, "")}/*`);
  if (spec.pathRegex !== undefined) parts.push(`~${spec.pathRegex}`);
  for (const [name, value] of Object.entries(spec.headers ?? {})) parts.push(`${name}=${value}`);
  for (const [name, value] of Object.entries(spec.query ?? {})) parts.push(`?${name}=${value}`);
  return parts.join(" ");
}

/** True when `spec` sets no condition, so the route takes every request. */
export function matchesEverything(spec: RouteMatchSpec | undefined): boolean {
  return spec === undefined || Object.values(spec).every((value) => value === undefined);
}

function hostTest(names: readonly string[]): RouteMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower.startsWith("*.")) suffixes.push(lower.slice(1));
    else exact.add(lower);
  }
  return (request) => {
    const header = request.headers.host;
    if (typeof header !== "string") return false;
    const host = withoutPort(header).toLowerCase();
    if (exact.has(host)) return true;
    return suffixes.some((suffix) => host.length > suffix.length && host.endsWith(suffix));
  };
}

function pathTest(spec: RouteMatchSpec): ((path: string) => boolean) | undefined {
  if (spec.path !== undefined) {
    const exact = spec.path;
    return (path) => path === exact;
  }
  if (spec.pathPrefix !== undefined) {
    const prefix = spec.pathPrefix;
    // "/api" must not match "/apix": past the prefix comes the end or a new segment.
    if (prefix.endsWith("/")) return (path) => path.startsWith(prefix);
    return (path) =>
      path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === "/");
  }
  if (spec.pathRegex !== undefined) {
    const regex = new RegExp(`^(?:${spec.pathRegex})$`);
    return (path) => regex.test(path);
  }
  return undefined;
}

function pathOf(url: string): string {
  const at = url.indexOf("?");
  return at < 0 ? url : url.slice(0, at);
}

/** A Host header without its port (`[v6]` kept bracketed). */
export function withoutPort(host: string): string {
  const end = host.startsWith("[") ? host.indexOf("]") + 1 : host.lastIndexOf(":");
  return end > 0 ? host.slice(0, end) : host;
}

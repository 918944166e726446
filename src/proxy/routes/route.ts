/**
 * One route of an HTTP listener: what it matches (route-match.ts) and what it
 * does with a request it takes. Either it answers a redirect itself, or it
 * sends the request to a pool, with its own path rewrite (strip a prefix,
 * then add one), request and response header edits (remove, then set),
 * retry settings, response timeout and rate limit in place of the listener's.
 */
import type { Balancer } from "../../balancer/balancer.js";
import type { RateLimiter, RateLimitOptions } from "../rate-limit/rate-limiter.js";
import type { RedirectTarget } from "./redirect.js";
import {
  compileRouteMatch,
  describeRouteMatch,
  type RouteMatcher,
  type RouteMatchSpec,
} from "./route-match.js";

export interface HeaderEdits {
  /** Fields replaced (or added) with these values. */
  set?: Readonly<Record<string, string>>;
  /** Fields dropped. */
  remove?: readonly string[];
}

export interface RouteOptions {
  /** Unique within the listener; named in the access log, /metrics and explain. */
  name: string;
  /** Conditions that must all hold; none: every request. */
  match?: RouteMatchSpec;
  /** The pool's balancer; exactly one of `balancer` and `redirect`. */
  balancer?: Balancer;
  /** The pool's name, for stats and labels. */
  pool?: string;
  /** Answer with a redirect instead of proxying. */
  redirect?: RedirectTarget;
  /** Removed from the front of the path before it is sent (`/api` turns `/api/users` into `/users`). */
  stripPrefix?: string;
  /** Put in front of the path (after stripPrefix). */
  addPrefix?: string;
  requestHeaders?: HeaderEdits;
  responseHeaders?: HeaderEdits;
  /** Replaces the listener's maxRetries. */
  maxRetries?: number;
  /** Replaces the listener's retryOn statuses. */
  retryOn?: { statuses?: readonly number[] };
  /** How long the backend may take to send the response head, in ms; default the listener's timeouts.headersMs. */
  timeoutMs?: number;
  /** Replaces the listener's rate limit with the route's own; false: no limit on this route. */
  rateLimit?: RateLimitOptions | false;
}

/** The route's settings resolved and checked by its route table (its own, else the listener's). */
export interface RouteSettings {
  maxRetries: number;
  retryStatuses: ReadonlySet<number> | undefined;
  /** The limiter the route's requests go through (shared with the listener when inherited); undefined: none. */
  rateLimit: RateLimiter | undefined;
}

export class Route {
  readonly name: string;
  readonly pool: string | undefined;
  readonly matches: RouteMatcher;
  /** What it matches, for people; "" for every request. */
  readonly matchText: string;
  readonly balancer: Balancer | undefined;
  readonly redirect: RedirectTarget | undefined;
  readonly maxRetries: number;
  readonly retryStatuses: ReadonlySet<number> | undefined;
  readonly headersTimeoutMs: number | undefined;
  readonly rateLimit: RateLimiter | undefined;
  /** Requests this route took. */
  requests = 0;
  /** Requests refused by the rate limit (429). */
  rateLimited = 0;
  readonly #strip: string | undefined;
  readonly #add: string;
  readonly #request: CompiledEdits | undefined;
  readonly #response: CompiledEdits | undefined;

  constructor(options: RouteOptions, settings: RouteSettings) {
    this.name = options.name;
    this.pool = options.pool;
    this.matches = compileRouteMatch(options.match);
    this.matchText = describeRouteMatch(options.match);
    this.balancer = options.balancer;
    this.redirect = options.redirect;
    this.maxRetries = settings.maxRetries;
    this.retryStatuses = settings.retryStatuses;
    this.rateLimit = settings.rateLimit;
    this.headersTimeoutMs = options.timeoutMs;
    this.#strip = options.stripPrefix?.replace(/\/+$/, "") || undefined;
    this.#add = options.addPrefix?.replace(/\/+$/, "") ?? "";
    this.#request = compileEdits(options.requestHeaders);
    this.#response = compileEdits(options.responseHeaders);
  }

  /**
   * Takes a token from the route's rate limit for a request (a proxied one or
   * a WebSocket upgrade): undefined when it is admitted, else the 429's header
   * fields, the refusal counted.
   */
  refusal(
    clientIp: string | undefined,
    request: { readonly headers: Parameters<RateLimiter["admit"]>[1] },
  ): string[] | undefined {
    const limit = this.rateLimit;
    // The request, not its header object: most routes have no limit, and building it costs a pass over the fields.
    if (limit === undefined || limit.admit(clientIp, request.headers, this.name)) return undefined;
    this.rateLimited++;
    return limit.refusalHeaders();
  }

  /** The target sent to the backend: `url` with the route's prefix stripped and added. */
  upstreamPath(url: string): string {
    let path = url;
    const strip = this.#strip;
    if (strip !== undefined && url.startsWith(strip)) {
      const next = url.charCodeAt(strip.length);
      // Only a whole segment: "/api" strips from "/api/x", "/api" and "/api?q", not "/apix".
      if (Number.isNaN(next) || next === 0x2f || next === 0x3f) {
        path = url.slice(strip.length);
        if (!path.startsWith("/")) path = `/${path}`;
      }
    }
    return this.#add === "" ? path : this.#add + path;
  }

  /** Applies the request header edits to a flat `[name, value, ...]` list, in place. */
  editRequest(headers: string[]): void {
    if (this.#request !== undefined) applyEdits(headers, this.#request);
  }

  /** Applies the response header edits to a flat list, in place. */
  editResponse(headers: string[]): void {
    if (this.#response !== undefined) applyEdits(headers, this.#response);
  }
}

interface CompiledEdits {
  /** Lower-case names to drop: removed ones and set ones (set replaces). */
  drop: ReadonlySet<string>;
  set: readonly [string, string][];
}

function compileEdits(edits: HeaderEdits | undefined): CompiledEdits | undefined {
  if (edits === undefined) return undefined;
  const set = Object.entries(edits.set ?? {});
  const drop = new Set(
    [...(edits.remove ?? []), ...set.map(([name]) => name)].map((name) => name.toLowerCase()),
  );
  if (drop.size === 0) return undefined;
  return { drop, set };
}

function applyEdits(headers: string[], edits: CompiledEdits): void {
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (edits.drop.has((headers[i] as string).toLowerCase())) continue;
    headers[kept] = headers[i] as string;
    headers[kept + 1] = headers[i + 1] as string;
    kept += 2;
  }
  headers.length = kept;
  for (const [name, value] of edits.set) headers.push(name, value);
}

/**
 * The route table of an HTTP listener: its routes in order, then the default
 * route (named "default") when the listener has a default pool; the first
 * whose match holds takes a request. A table is built whole and never edited:
 * a reload (`reload`) builds the next one, so a request keeps the route it
 * started on. The next table keeps the counters of the routes whose name
 * stays, and the buckets of every rate limiter whose settings did not change,
 * so clients keep their quota across the reload. A route that proxies gets
 * its pool's transport from the listener; a redirect has none.
 */
import { isDeepStrictEqual } from "node:util";
import { checkMaxRetries } from "../../balancer/attempt-policy.js";
import type { Balancer } from "../../balancer/balancer.js";
import { checkRetryStatuses, invalidOption, positiveMs, type RetrySettings } from "../http-proxy-options.js";
import { RateLimiter, type RateLimitOptions } from "../rate-limit/rate-limiter.js";
import { Route, type RouteOptions } from "./route.js";
import type { RoutedRequest } from "./route-match.js";

/** A route, with its pool's transport when it proxies (a redirect has none). */
export interface RouteEntry<Transport> {
  readonly route: Route;
  readonly transport: Transport | undefined;
}

/** What every table of a listener takes from it. */
export interface RouteTableContext<Transport> {
  /** The listener's name, which its rate limiter carries. */
  readonly listener: string;
  /** The listener's retry settings, which routes without their own inherit. */
  readonly retries: RetrySettings;
  /** The default pool, whose route takes what the others do not; undefined: none. */
  readonly defaultPool: { readonly balancer: Balancer; readonly pool: string | undefined } | undefined;
  /** The transport to a pool, made on first use. */
  readonly transport: (balancer: Balancer) => Transport;
}

export class RouteTable<Transport> {
  /** The routes in order, the default route last. */
  readonly entries: readonly RouteEntry<Transport>[];
  readonly #context: RouteTableContext<Transport>;
  /** The listener's rate limiter, which routes without their own share. */
  readonly #listenerLimit: RateLimiter | undefined;

  /**
   * `routes` and the listener's `rateLimit`, in place of the `previous` table
   * when there is one. Throws SY_ERR_INVALID_OPTIONS when a route is invalid.
   */
  constructor(
    context: RouteTableContext<Transport>,
    routes: readonly RouteOptions[],
    rateLimit: RateLimitOptions | undefined,
    previous?: RouteTable<Transport>,
  ) {
    this.#context = context;
    const kept = new Map(previous?.entries.map(({ route }) => [route.name, route]));
    const previousLimit = previous === undefined ? undefined : previous.#listenerLimit;
    this.#listenerLimit = reuseLimiter(previousLimit, rateLimit, context.listener);
    const own = (options: RouteOptions, limit: RateLimitOptions) => {
      const old = kept.get(options.name)?.rateLimit;
      // A route that inherited the listener's limit had no buckets of its own to keep.
      return reuseLimiter(old === previousLimit ? undefined : old, limit, options.name);
    };
    const { defaultPool } = context;
    const all =
      defaultPool === undefined
        ? routes
        : [...routes, { name: "default", balancer: defaultPool.balancer, pool: defaultPool.pool }];
    this.entries = all.map((options) => this.#entry(options, own));
    const names = new Set<string>();
    for (const { route } of this.entries) {
      if (names.has(route.name))
        throw invalidOption(`route names must be unique; "${route.name}" repeats`, {});
      names.add(route.name);
    }
    for (const { route } of this.entries) {
      const old = kept.get(route.name);
      if (old === undefined) continue;
      route.requests = old.requests;
      route.rateLimited = old.rateLimited;
    }
  }

  /** The default pool, whose route takes what the others do not; undefined: none. */
  get defaultPool(): RouteTableContext<Transport>["defaultPool"] {
    return this.#context.defaultPool;
  }

  /**
   * The table that replaces this one on a reload, with `defaultPool` in place
   * of the current one when given (null: none); throws, changing nothing,
   * when a route is invalid.
   */
  reload(
    routes: readonly RouteOptions[],
    rateLimit: RateLimitOptions | undefined,
    defaultPool?: RouteTableContext<Transport>["defaultPool"] | null,
  ): RouteTable<Transport> {
    const context =
      defaultPool === undefined ? this.#context : { ...this.#context, defaultPool: defaultPool ?? undefined };
    return new RouteTable(context, routes, rateLimit, this);
  }

  /** The first route whose match holds (the default route matches everything); undefined: none. */
  match(request: RoutedRequest): RouteEntry<Transport> | undefined {
    for (const entry of this.entries) if (entry.route.matches(request)) return entry;
    return undefined;
  }

  #entry(
    options: RouteOptions,
    own: (options: RouteOptions, limit: RateLimitOptions) => RateLimiter | undefined,
  ): RouteEntry<Transport> {
    if ((options.balancer === undefined) === (options.redirect === undefined)) {
      throw invalidOption(`route "${options.name}" needs either a balancer or a redirect`, {
        route: options.name,
      });
    }
    if (options.timeoutMs !== undefined)
      positiveMs(`route "${options.name}" timeoutMs`, options.timeoutMs, 0);
    if (options.redirect !== undefined && options.rateLimit) {
      throw invalidOption(`route "${options.name}" redirects; it takes no rateLimit`, {
        route: options.name,
      });
    }
    const listener = this.#context.retries;
    const route = new Route(options, {
      maxRetries:
        options.maxRetries === undefined ? listener.maxRetries : checkMaxRetries(options.maxRetries),
      retryStatuses:
        options.retryOn === undefined ? listener.retryStatuses : checkRetryStatuses(options.retryOn.statuses),
      // Redirects are answered without a backend: nothing to protect, so no limit.
      rateLimit:
        options.redirect !== undefined || options.rateLimit === false
          ? undefined
          : options.rateLimit === undefined
            ? this.#listenerLimit
            : own(options, options.rateLimit),
    });
    return {
      route,
      transport: options.balancer === undefined ? undefined : this.#context.transport(options.balancer),
    };
  }
}

/** `previous` when it was built from the same settings (its buckets carry on), else a new limiter. */
function reuseLimiter(
  previous: RateLimiter | undefined,
  options: RateLimitOptions | undefined,
  name: string,
): RateLimiter | undefined {
  if (options === undefined) return undefined;
  if (previous !== undefined && isDeepStrictEqual(previous.options, options)) return previous;
  return new RateLimiter(options, name);
}

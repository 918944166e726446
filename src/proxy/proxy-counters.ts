/**
 * Counters of one HTTP listener, written by its exchanges and read through
 * `HttpProxy.stats()`: requests received (and how many came over HTTP/2),
 * HTTP/2 connections cut off for rapid reset, retries sent and retries refused by
 * the budget, hedges sent and won (and hedge timers armed now), responses by
 * status class, and the coded errors the proxy answered (or cut a response
 * with) by code; the snapshot adds the backends' queues and connections,
 * read from the upstream pools at that moment. Plain numbers and one small map
 * keyed by the fixed error codes, so counting allocates nothing.
 */
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { ErrorCode } from "../core/errors.js";
import type { UpstreamUsage } from "./upstream-pools.js";

/** One backend of the listener's pool, with its connection pool's queue and connections. */
export interface BackendUpstreamStats extends UpstreamUsage {
  id: string;
  /** The pool the backend is in, when the listener was told its name. */
  pool: string | undefined;
}

/** A route of the listener, the requests it took and those its rate limit refused. */
export interface RouteStats {
  name: string;
  /** Its pool's name; undefined for a redirect route (or an unnamed default pool). */
  pool: string | undefined;
  /** What it matches, in short (`GET api.example.com /v1/*`); "" for every request. */
  match: string;
  /** A redirect route's target, in short (`301 → https://example.com/new`). */
  redirect: string | undefined;
  requests: number;
  /** Requests (and upgrades) answered 429 by the route's rate limit; counted in `requests` too. */
  rateLimited: number;
}

export interface HttpProxyStats {
  /** HTTP requests received (Upgrade requests are tunnels, not counted here). */
  requests: number;
  /** Of those, requests that came as HTTP/2 streams. */
  http2Requests: number;
  /** HTTP/2 connections closed because the client reset too many streams (rapid reset, CVE-2023-44487). */
  http2RapidResetCloses: number;
  /** Attempts moved to another backend: after a connect error, a reset, or a `retryOn` status. */
  retries: number;
  /** Retries the retry budget refused; those requests got the failure (or the status) as it was. */
  retryBudgetExhausted: number;
  /** Second attempts sent beside a slow first one (hedged requests, when the algorithm hedges). */
  hedges: number;
  /** Hedged requests whose second attempt answered first. */
  hedgeWins: number;
  /** Hedge timers armed now (requests waiting to see whether they need a hedge). */
  hedgeTimers: number;
  /** Requests being proxied plus WebSocket tunnels open. */
  inFlight: number;
  /** Responses sent to clients, forwarded or answered by the proxy, by status class. */
  statusClasses: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  /** Errors the proxy answered itself (or cut a started response for), by `SY_ERR_*` code. */
  errors: Record<string, number>;
  /** Per backend of the listener's pools: requests queued for a connection, connections open and idle now, bytes sent and read. */
  backends: BackendUpstreamStats[];
  /** Each route in order, the default route ("default") last. */
  routes: RouteStats[];
}

export class ProxyCounters {
  requests = 0;
  http2Requests = 0;
  http2RapidResetCloses = 0;
  hedges = 0;
  hedgeWins = 0;
  hedgeTimers = 0;
  #classes = [0, 0, 0, 0];
  #errors = new Map<ErrorCode, number>();

  /** A response head went to the client. */
  response(status: number): void {
    const index = Math.floor(status / 100) - 2;
    if (index >= 0 && index < 4) this.#classes[index] = (this.#classes[index] as number) + 1;
  }

  /** The proxy answered (or cut) a request with a coded error. */
  error(code: ErrorCode): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  snapshot(
    inFlight: number,
    attempts: AttemptPolicy,
    backends: BackendUpstreamStats[],
    routes: RouteStats[],
  ): HttpProxyStats {
    const [c2 = 0, c3 = 0, c4 = 0, c5 = 0] = this.#classes;
    return {
      requests: this.requests,
      http2Requests: this.http2Requests,
      http2RapidResetCloses: this.http2RapidResetCloses,
      retries: attempts.retries,
      retryBudgetExhausted: attempts.budgetRefusals,
      hedges: this.hedges,
      hedgeWins: this.hedgeWins,
      hedgeTimers: this.hedgeTimers,
      inFlight,
      statusClasses: { "2xx": c2, "3xx": c3, "4xx": c4, "5xx": c5 },
      errors: Object.fromEntries(this.#errors),
      backends,
      routes,
    };
  }
}

/**
 * HTTP reverse proxy listener. A TCP (or TLS) server accepts connections;
 * each is a `ClientConnection` (http1/client-connection.ts: strict parsing,
 * coded answers to refused requests, framing, keep-alive, timeouts) that
 * hands each request to an `Exchange` (exchange.ts), which picks a backend,
 * streams the request and response and decides on retries. Connections that
 * speak HTTP/2 (ALPN h2 on TLS, on by default; the preface on a plain
 * listener with `h2c`) go to `Http2Sessions` (http2/http2-sessions.ts),
 * whose streams reach the same `Exchange`. This file owns what lives
 * longer than a request: options and their validation, the server and its
 * connections, routing Upgrade requests to the WebSocket tunnels (websocket.ts, idle-closed after `websocketIdleMs`,
 * closed `drainTimeoutMs` after their backend turned draining), the retry
 * policy shared by its exchanges (statuses, body buffer, retry budget), the
 * rate limiters its routes check (rate-limit/), the counters behind
 * `stats()`, the in-flight count, and the graceful `close()`: stop
 * accepting, drain up to a grace period, then destroy what is left and close
 * the upstream pools.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { isDeepStrictEqual } from "node:util";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import { type ErrorCode, ErrorCodes, SwitchyardError } from "../core/errors.js";
import { listenOn } from "../core/listen.js";
import type { AccessLog } from "../observability/access-log.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS } from "./backend-tunnels.js";
import type { ProxyRequest, ResponseOwner, ResponseWriter } from "./client-side.js";
import { rawErrorResponse, replyAndClose } from "./error-responses.js";
import { Exchange, type ExchangeHost, RATE_LIMITED_MESSAGE } from "./exchange.js";
import { clientAddress } from "./forwarded-headers.js";
import { ClientConnection, type ClientConnectionHost } from "./http1/client-connection.js";
import type { ClientRequest } from "./http1/client-request.js";
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from "./http1/head-parser.js";
import {
  DEFAULT_HTTP2_LIMITS,
  type Http2Host,
  type Http2Limits,
  type Http2Options,
  Http2Sessions,
} from "./http2/http2-sessions.js";
import { type BackendUpstreamStats, type HttpProxyStats, ProxyCounters } from "./proxy-counters.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limit/rate-limiter.js";
import { RetryBudget, type RetryBudgetOptions } from "./retry-budget.js";
import { NO_ROUTE_MESSAGE, NoRoute } from "./routes/no-route.js";
import { describeRedirect, Redirect, type RedirectHost, type RedirectTarget } from "./routes/redirect.js";
import { Route, type RouteOptions, type RouteSettings } from "./routes/route.js";
import type { RoutedRequest } from "./routes/route-match.js";
import type { TlsCertificates } from "./tls-certificates.js";
import { UpstreamPools, type UpstreamUsage } from "./upstream-pools.js";
import { WebSocketProxy } from "./websocket.js";

export interface ProxyTimeouts {
  /** Establishing an upstream connection, in ms; default 5000. */
  connectMs: number;
  /** Waiting for the upstream response headers, in ms; default 30000. */
  headersMs: number;
  /**
   * Idle gap in an upstream response body, idle time of a kept-alive client
   * connection, and the longest stall of a client's upload (408), in ms; default 60000.
   */
  idleMs: number;
  /** A client's request head, once begun, must arrive within this many ms, else 408; default 60000. */
  requestHeadMs: number;
}

export interface HttpProxyOptions {
  /** The default pool's balancer, for requests no route takes; without it they get 404 SY_ERR_NO_ROUTE. */
  balancer?: Balancer;
  /** Listening host; default 127.0.0.1. */
  host?: string;
  /** Listening port; default 0 (chosen by the OS, read back from `listen()`). */
  port?: number;
  /** Listener name, used in logs. */
  name?: string;
  timeouts?: Partial<ProxyTimeouts>;
  /** Extra attempts on next candidates; default 3. */
  maxRetries?: number;
  /**
   * Failover on response statuses (opt-in): an idempotent request whose
   * response has one of `statuses` (integers 400-599, e.g. [502, 503, 504])
   * goes to the next candidate; the response is dropped. With no candidate,
   * attempt or budget left, it is forwarded as it is. Default: none.
   */
  retryOn?: { statuses?: readonly number[] };
  /**
   * Request bodies up to this many bytes are kept while they stream, so a
   * retry can send them again; default 65536. Larger bodies stream without a
   * copy and are not retried once sending began. 0 keeps no copy.
   */
  retryBufferBytes?: number;
  /**
   * Caps retries at a share of requests over a sliding window, plus a reserve
   * per second; default { ratio: 0.2, windowMs: 10000, minRetriesPerSecond: 3 }.
   * `false` removes the cap (retries then bounded only by maxRetries).
   */
  retryBudget?: Partial<RetryBudgetOptions> | false;
  /** Access log (one JSON line per sampled request); default none. */
  accessLog?: AccessLog;
  /**
   * How long WebSocket tunnels to a backend that turned `draining` stay open
   * before they are closed, in ms; default 30000. A removed backend's tunnels
   * close at once.
   */
  drainTimeoutMs?: number;
  /**
   * Connections open at once to each backend (HAProxy's server `maxconn`);
   * default 0, no limit. A request that finds them all busy waits in a queue
   * for up to `queueTimeoutMs`, then gets 503 SY_ERR_QUEUE_TIMEOUT (or goes to
   * the next candidate when retries allow: it never reached the backend).
   */
  maxConnections?: number;
  /** How long a request waits for a connection to a backend at `maxConnections`, in ms; default 5000. */
  queueTimeoutMs?: number;
  /** Requests one upstream connection carries before it is closed; default 0, no limit. */
  maxRequestsPerConnection?: number;
  /** Largest accepted request head in bytes; default 16384, larger gets 431. */
  maxHeaderSize?: number;
  /**
   * Idle time of a WebSocket (Upgrade) tunnel, in ms; default 300000 (5 min).
   * When no byte has crossed the tunnel in either direction for this long,
   * both the client and the backend socket are closed. Separate from
   * `timeouts.idleMs` because WebSocket applications are often quiet for
   * longer than an HTTP body stall is tolerated; keep it above the
   * application's ping interval. At most 2147483647 (node's timer limit).
   */
  websocketIdleMs?: number;
  /**
   * Terminate TLS: the certificates (chosen by SNI, see tls-certificates.ts)
   * and the lowest protocol version accepted (default TLSv1.2). A reload of
   * the certificates applies to new connections; open ones keep theirs.
   */
  tls?: { certificates: TlsCertificates; minVersion?: "TLSv1.2" | "TLSv1.3" };
  /**
   * HTTP/2 from clients, to the same routes and HTTP/1.1 backends: offered
   * by ALPN (`h2` beside `http/1.1`) on a TLS listener, and on a plain one
   * with `h2c`. Its limits (see DEFAULT_HTTP2_LIMITS; the header list size
   * defaults to `maxHeaderSize`), or false for HTTP/1.1 only. Default on.
   */
  http2?: Http2Options | false;
  /**
   * Plain listener: a connection that opens with the HTTP/2 preface speaks
   * HTTP/2 (h2c with prior knowledge; no Upgrade from HTTP/1.1). Default false.
   */
  h2c?: boolean;
  /**
   * Answer every request with a 308 to the same URL on https (to `port`,
   * default 443) instead of proxying it. For a plain listener beside a TLS one.
   */
  redirectToHttps?: { port?: number };
  /** The name of `balancer`'s pool, for stats and labels. */
  pool?: string;
  /**
   * Routes tried in order before the default (`balancer`): the first whose
   * match holds takes the request (see routes/route.ts). Names must be unique.
   * `setRoutes` replaces them (and `rateLimit`) while the listener runs.
   */
  routes?: readonly RouteOptions[];
  /**
   * A token bucket per client (or header value, or route) in front of every
   * proxied request and WebSocket upgrade: over it, 429 SY_ERR_RATE_LIMITED
   * with Retry-After (see rate-limit/). Routes inherit it unless they set
   * their own `rateLimit` (or `false`). Redirects are not limited. Default none.
   */
  rateLimit?: RateLimitOptions;
  logger?: Logger;
}

export const DEFAULT_PROXY_TIMEOUTS: Readonly<ProxyTimeouts> = Object.freeze({
  connectMs: 5_000,
  headersMs: 30_000,
  idleMs: 60_000,
  requestHeadMs: 60_000,
});
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_BUFFER_BYTES = 65_536;
export const DEFAULT_MAX_HEADER_SIZE = 16_384;
export const DEFAULT_HTTP_GRACE_MS = 10_000;
export const DEFAULT_WEBSOCKET_IDLE_MS = 300_000;
export const DEFAULT_QUEUE_TIMEOUT_MS = 5_000;
/**
 * An idle upstream connection is closed after this long: under the 5 s that
 * node and many servers keep an idle connection, so the proxy closes first
 * and rarely sends on a connection the backend is closing.
 */
const UPSTREAM_IDLE_MS = 4_000;
/** After the grace period, how long to wait for destroyed sockets to report closed. */
const DESTROY_SETTLE_MS = 1_000;

/** The connections a listener keeps to one pool: HTTP keep-alive pools and WebSocket tunnels. */
interface PoolTransport {
  readonly upstreams: UpstreamPools;
  readonly websockets: WebSocketProxy;
}

/** A route, with its pool's transport when it proxies (a redirect has none). */
interface RouteEntry {
  readonly route: Route;
  readonly transport: PoolTransport | undefined;
}

export class HttpProxy implements ExchangeHost, ClientConnectionHost, RedirectHost, Http2Host {
  readonly name: string;
  readonly timeouts: Readonly<ProxyTimeouts>;
  /** The default pool's balancer: requests no route takes go there; none: they get 404. */
  readonly balancer: Balancer | undefined;
  /** @internal */
  readonly retryBufferBytes: number;
  /** @internal */
  readonly retryBudget: RetryBudget | undefined;
  /** @internal */
  readonly counters = new ProxyCounters();
  /** @internal */
  readonly logger: Logger;
  /** @internal */
  readonly accessLog: AccessLog | undefined;
  /** @internal read by client connections */
  readonly headLimits: Readonly<HeadLimits>;
  /** @internal */
  readonly headTimeoutMs: number;
  /** @internal */
  readonly idleTimeoutMs: number;
  /** @internal */
  readonly h2c: boolean;
  /** The HTTP/2 side; undefined when the listener speaks HTTP/1.1 only. */
  #http2: Http2Sessions | undefined;
  #host: string;
  #port: number;
  #server: net.Server;
  #connections = new Set<ClientConnection>();
  /** Set when every request is redirected to https instead of proxied. */
  #redirectToHttps: RedirectTarget | undefined;
  /**
   * The routes in order, the default route (named "default", when there is a
   * default pool) last; replaced whole by setRoutes, never edited in place.
   */
  #routes: readonly RouteEntry[];
  #transports = new Map<Balancer, PoolTransport>();
  /** The transport to a pool, made on first use. */
  readonly #transport: (balancer: Balancer) => PoolTransport;
  /** The listener's own retry settings, which its routes inherit. */
  readonly #retries: Omit<RouteSettings, "rateLimit">;
  readonly #defaultPool: string | undefined;
  /** The listener's rate limiter, which routes without their own share. */
  #listenerLimit: RateLimiter | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #address: { host: string; port: number } | undefined;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;

  constructor(options: HttpProxyOptions) {
    this.balancer = options.balancer;
    this.name = options.name ?? "http";
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535) {
      throw invalidOption("port must be an integer from 0 to 65535", { port: this.#port });
    }
    this.timeouts = Object.freeze({
      connectMs: positive(
        "timeouts.connectMs",
        options.timeouts?.connectMs,
        DEFAULT_PROXY_TIMEOUTS.connectMs,
      ),
      headersMs: positive(
        "timeouts.headersMs",
        options.timeouts?.headersMs,
        DEFAULT_PROXY_TIMEOUTS.headersMs,
      ),
      idleMs: timerDuration("timeouts.idleMs", options.timeouts?.idleMs, DEFAULT_PROXY_TIMEOUTS.idleMs),
      requestHeadMs: timerDuration(
        "timeouts.requestHeadMs",
        options.timeouts?.requestHeadMs,
        DEFAULT_PROXY_TIMEOUTS.requestHeadMs,
      ),
    });
    this.headTimeoutMs = this.timeouts.requestHeadMs;
    this.idleTimeoutMs = this.timeouts.idleMs;
    this.#retries = {
      maxRetries: maxRetries(options.maxRetries ?? DEFAULT_MAX_RETRIES),
      retryStatuses: retryStatuses(options.retryOn?.statuses),
    };
    this.#defaultPool = options.pool;
    this.retryBufferBytes = options.retryBufferBytes ?? DEFAULT_RETRY_BUFFER_BYTES;
    if (
      !Number.isInteger(this.retryBufferBytes) ||
      this.retryBufferBytes < 0 ||
      this.retryBufferBytes > MAX_RETRY_BUFFER_BYTES
    ) {
      throw invalidOption(`retryBufferBytes must be an integer from 0 to ${MAX_RETRY_BUFFER_BYTES}`, {
        retryBufferBytes: this.retryBufferBytes,
      });
    }
    this.retryBudget =
      options.retryBudget === false
        ? undefined
        : new RetryBudget(options.retryBudget ?? {}, () => performance.now());
    const drainTimeoutMs = timerDuration(
      "drainTimeoutMs",
      options.drainTimeoutMs,
      DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS,
    );
    const maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 1024) {
      throw invalidOption("maxHeaderSize must be an integer of at least 1024", { maxHeaderSize });
    }
    this.headLimits = Object.freeze({ ...DEFAULT_HEAD_LIMITS, maxHeadBytes: maxHeaderSize });
    if (options.redirectToHttps !== undefined) {
      const port = options.redirectToHttps.port ?? 443;
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw invalidOption("redirectToHttps.port must be an integer from 1 to 65535", { port });
      }
      this.#redirectToHttps = { scheme: "https", port, status: 308 };
    }
    this.logger = (options.logger ?? silentLogger).child({ component: "http-proxy", listener: this.name });
    this.accessLog = options.accessLog;
    const upstreamOptions = {
      connectTimeoutMs: this.timeouts.connectMs,
      headersTimeoutMs: this.timeouts.headersMs,
      bodyTimeoutMs: this.timeouts.idleMs,
      idleTimeoutMs: UPSTREAM_IDLE_MS,
      maxConnections: count("maxConnections", options.maxConnections),
      maxRequests: count("maxRequestsPerConnection", options.maxRequestsPerConnection),
      queueTimeoutMs: timerDuration("queueTimeoutMs", options.queueTimeoutMs, DEFAULT_QUEUE_TIMEOUT_MS),
      logger: this.logger,
    };
    const websocketIdleMs = timerDuration(
      "websocketIdleMs",
      options.websocketIdleMs,
      DEFAULT_WEBSOCKET_IDLE_MS,
    );
    this.#transport = (balancer: Balancer): PoolTransport => {
      let found = this.#transports.get(balancer);
      if (found === undefined) {
        found = {
          upstreams: new UpstreamPools(balancer.pool, {
            ...upstreamOptions,
            tls: balancer.backendTls,
            protocol: balancer.backendProtocol,
          }),
          websockets: new WebSocketProxy({
            balancer,
            connectTimeoutMs: this.timeouts.connectMs,
            idleTimeoutMs: websocketIdleMs,
            maxRetries: this.#retries.maxRetries,
            drainTimeoutMs,
            logger: this.logger,
            onTunnelClosed: () => this.#checkDrained(),
          }),
        };
        this.#transports.set(balancer, found);
      }
      return found;
    };
    this.#listenerLimit = reuseLimiter(undefined, options.rateLimit, this.name);
    this.#routes = this.#buildRoutes(options.routes ?? [], this.#listenerLimit, new Map());
    this.h2c = options.h2c === true;
    if (this.h2c && options.http2 === false) throw invalidOption("h2c needs http2, which is false", {});
    // Offered by ALPN on TLS; on a plain listener only to clients with prior knowledge (h2c).
    if (options.http2 !== false && (options.tls !== undefined || this.h2c))
      this.#http2 = new Http2Sessions(this, http2Limits(options.http2 ?? {}, maxHeaderSize));
    this.#server =
      options.tls === undefined ? net.createServer(this.#onConnection) : this.#tlsServer(options.tls);
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    if (this.#closing) {
      return Promise.reject(new SwitchyardError(ErrorCodes.SHUTTING_DOWN, "the HTTP proxy has been closed"));
    }
    return listenOn(this.#server, this.#host, this.#port, this.logger, "http listener").then((address) => {
      this.#address = address;
      this.#sweeper ??= setInterval(this.#sweep, sweepPeriod(this.timeouts));
      this.#sweeper.unref();
      return address;
    });
  }

  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error(`HTTP proxy "${this.name}" is not listening; call listen() first`);
    return this.#address;
  }

  /** Requests being proxied plus WebSocket tunnels open. */
  get inFlight(): number {
    let tunnels = 0;
    for (const transport of this.#transports.values()) tunnels += transport.websockets.size;
    return this.#inFlight + tunnels;
  }

  /**
   * Counters since the listener was created, each backend's queue and
   * connections now, and the requests each route took; see HttpProxyStats.
   */
  stats(): HttpProxyStats {
    const backends: BackendUpstreamStats[] = [];
    const pools = new Map<Balancer, string | undefined>();
    for (const { route } of this.#routes)
      if (route.balancer && !pools.has(route.balancer)) pools.set(route.balancer, route.pool);
    for (const [balancer, pool] of pools) {
      const upstreams = this.#transports.get(balancer)?.upstreams;
      for (const backend of balancer.pool.backends) {
        backends.push({ id: backend.id, pool, ...(upstreams?.usage(backend) ?? NO_USAGE) });
      }
    }
    const routes = this.#routes.map(({ route }) => ({
      name: route.name,
      pool: route.pool,
      match: route.matchText,
      redirect: route.redirect === undefined ? undefined : describeRedirect(route.redirect),
      requests: route.requests,
      rateLimited: route.rateLimited,
    }));
    return this.counters.snapshot(this.inFlight, backends, routes);
  }

  /**
   * Replaces the routes and the listener's rate limit at once (a config
   * reload): requests already taken finish on the route they started on, new
   * ones use the new table. Kept route names keep their counters; a limit
   * whose settings did not change keeps its buckets. Throws
   * SY_ERR_INVALID_OPTIONS, and changes nothing, when a route is invalid.
   */
  setRoutes(routes: readonly RouteOptions[], rateLimit: RateLimitOptions | undefined): void {
    const previous = new Map(this.#routes.map(({ route }) => [route.name, route]));
    const listenerLimit = reuseLimiter(this.#listenerLimit, rateLimit, this.name);
    const next = this.#buildRoutes(routes, listenerLimit, previous);
    for (const { route } of next) {
      const old = previous.get(route.name);
      if (old === undefined) continue;
      route.requests = old.requests;
      route.rateLimited = old.rateLimited;
    }
    this.#routes = next;
    this.#listenerLimit = listenerLimit;
  }

  /** WebSocket tunnels open to `backend`. */
  tunnelsTo(backend: Backend): number {
    let open = 0;
    for (const transport of this.#transports.values()) open += transport.websockets.openTo(backend);
    return open;
  }

  /** @internal The keep-alive pools this listener keeps to `balancer`'s backends (for tests). */
  upstreamsFor(balancer: Balancer): UpstreamPools | undefined {
    return this.#transports.get(balancer)?.upstreams;
  }

  /** @internal True once close() has been called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Graceful: stop accepting, let in-flight requests finish up to graceMs
   * (default 10000), then destroy remaining sockets and close upstream pools.
   */
  close(graceMs: number = DEFAULT_HTTP_GRACE_MS): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  /** @internal A request arrived (an HTTP/1.1 head, an HTTP/2 stream): its exchange answers it. */
  _accept(request: ProxyRequest, connection: ResponseWriter): ResponseOwner {
    this.#inFlight++;
    if (this.#redirectToHttps !== undefined)
      return new Redirect(this, request, connection, this.#redirectToHttps);
    const entry = this.#match(request);
    if (entry === undefined) return new NoRoute(this, request, connection);
    const { route, transport } = entry;
    route.requests++;
    if (transport === undefined)
      return new Redirect(this, request, connection, route.redirect as RedirectTarget);
    return new Exchange(this, route, transport.upstreams, request, connection);
  }

  /** @internal A response (an exchange's, a redirect's) ended or its client left. */
  _released(): void {
    this.#inFlight--;
    this.#checkDrained();
  }

  /** @internal An Upgrade request: its socket becomes a WebSocket tunnel. */
  _upgrade(request: ClientRequest, socket: net.Socket, rest: Buffer): void {
    if (this.#closing) {
      socket.on("error", ignoreError);
      replyAndClose(socket, rawErrorResponse(503, ErrorCodes.SHUTTING_DOWN, "the proxy is shutting down"));
      return;
    }
    const entry = this.#match(request);
    if (entry === undefined) {
      this._refused(404, ErrorCodes.NO_ROUTE, false);
      socket.on("error", ignoreError);
      replyAndClose(socket, rawErrorResponse(404, ErrorCodes.NO_ROUTE, NO_ROUTE_MESSAGE));
      return;
    }
    const { route, transport } = entry;
    route.requests++;
    const refused = route.refusal(clientAddress(socket.remoteAddress), request.headers);
    if (refused !== undefined) {
      this._refused(429, ErrorCodes.RATE_LIMITED, false);
      socket.on("error", ignoreError);
      replyAndClose(socket, rawErrorResponse(429, ErrorCodes.RATE_LIMITED, RATE_LIMITED_MESSAGE, refused));
      return;
    }
    if (transport === undefined) {
      socket.on("error", ignoreError);
      replyAndClose(
        socket,
        rawErrorResponse(
          400,
          ErrorCodes.BAD_REQUEST,
          `route "${route.name}" redirects; it takes no upgrades`,
        ),
      );
      return;
    }
    transport.websockets.handleUpgrade(request, socket, rest, route);
  }

  /** @internal */
  _refused(status: number, code: ErrorCode, request: boolean): void {
    if (request) this.counters.requests++;
    this.counters.error(code);
    this.counters.response(status);
  }

  /** @internal A client connection closed or became a tunnel or an HTTP/2 session. */
  _detached(connection: ClientConnection): void {
    this.#connections.delete(connection);
  }

  /** @internal A plain connection opened with the HTTP/2 preface (h2c is on). */
  _http2(socket: net.Socket): void {
    (this.#http2 as Http2Sessions).accept(socket);
  }

  /** The first route whose match holds (the default route matches everything); undefined: none. */
  #match(request: RoutedRequest): RouteEntry | undefined {
    for (const entry of this.#routes) if (entry.route.matches(request)) return entry;
    return undefined;
  }

  /**
   * The route table: `routes` in order, then the default route when there is
   * a default pool. Routes' own rate limiters of the `previous` routes (by
   * name) whose settings are unchanged are reused, so clients keep their
   * quota across a reload.
   */
  #buildRoutes(
    routes: readonly RouteOptions[],
    listenerLimit: RateLimiter | undefined,
    previous: ReadonlyMap<string, Route>,
  ): RouteEntry[] {
    const own = (options: RouteOptions, limit: RateLimitOptions) => {
      const old = previous.get(options.name)?.rateLimit;
      // A route that inherited the listener's limit had no buckets of its own to keep.
      return reuseLimiter(old === this.#listenerLimit ? undefined : old, limit, options.name);
    };
    const all =
      this.balancer === undefined
        ? routes
        : [...routes, { name: "default", balancer: this.balancer, pool: this.#defaultPool }];
    const table = all.map((options) => this.#route(options, listenerLimit, own));
    const names = new Set<string>();
    for (const { route } of table) {
      if (names.has(route.name))
        throw invalidOption(`route names must be unique; "${route.name}" repeats`, {});
      names.add(route.name);
    }
    return table;
  }

  #route(
    options: RouteOptions,
    listenerLimit: RateLimiter | undefined,
    own: (options: RouteOptions, limit: RateLimitOptions) => RateLimiter,
  ): RouteEntry {
    if ((options.balancer === undefined) === (options.redirect === undefined)) {
      throw invalidOption(`route "${options.name}" needs either a balancer or a redirect`, {
        route: options.name,
      });
    }
    if (options.timeoutMs !== undefined) positive(`route "${options.name}" timeoutMs`, options.timeoutMs, 0);
    if (options.redirect !== undefined && options.rateLimit) {
      throw invalidOption(`route "${options.name}" redirects; it takes no rateLimit`, {
        route: options.name,
      });
    }
    const listener = this.#retries;
    const route = new Route(options, {
      maxRetries: options.maxRetries === undefined ? listener.maxRetries : maxRetries(options.maxRetries),
      retryStatuses:
        options.retryOn === undefined ? listener.retryStatuses : retryStatuses(options.retryOn.statuses),
      // Redirects are answered without a backend: nothing to protect, so no limit.
      rateLimit:
        options.redirect !== undefined || options.rateLimit === false
          ? undefined
          : options.rateLimit === undefined
            ? listenerLimit
            : own(options, options.rateLimit),
    });
    return {
      route,
      transport: options.balancer === undefined ? undefined : this.#transport(options.balancer),
    };
  }

  #onConnection = (socket: net.Socket): void => {
    if (this.#http2 !== undefined && (socket as tls.TLSSocket).alpnProtocol === "h2")
      this.#http2.accept(socket);
    else this.#connections.add(new ClientConnection(socket, this));
  };

  #tlsServer({ certificates, minVersion = "TLSv1.2" }: NonNullable<HttpProxyOptions["tls"]>): tls.Server {
    const server = tls.createServer(
      {
        ...certificates.defaults,
        minVersion,
        ALPNProtocols: this.#http2 === undefined ? ["http/1.1"] : ["h2", "http/1.1"],
        SNICallback: (servername, done) => done(null, certificates.select(servername)),
        handshakeTimeout: this.timeouts.requestHeadMs,
      },
      this.#onConnection,
    );
    // A client that sends no name gets the first certificate: keep the server's own context current.
    const stop = certificates.onReload(() => server.setSecureContext(certificates.defaults));
    server.on("close", stop);
    server.on("tlsClientError", (error, socket) => {
      this.logger.debug({ err: error, client: socket.remoteAddress }, "TLS handshake failed");
      socket.destroy();
    });
    return server;
  }

  /** One timer for every client connection's timeouts, instead of one per connection. */
  #sweep = (): void => {
    const now = performance.now();
    for (const connection of this.#connections) connection._sweep(now);
  };

  async #shutdown(graceMs: number): Promise<void> {
    const server = this.#server;
    const closed = new Promise<void>((resolve) => {
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
    for (const connection of this.#connections) connection.closeIfIdle();
    this.#http2?.close();
    const drained = await this.#drain(graceMs);
    if (!drained) {
      this.logger.warn({ inFlight: this.inFlight }, "grace period over, closing remaining connections");
    }
    for (const connection of this.#connections) connection.destroy();
    // Drained HTTP/2 sessions close on their own once their last frames are out.
    if (!drained) this.#http2?.destroy();
    clearInterval(this.#sweeper);
    for (const transport of this.#transports.values()) transport.websockets.destroyAll();
    let settleTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise<void>((resolve) => {
        settleTimer = setTimeout(resolve, DESTROY_SETTLE_MS);
      }),
    ]);
    clearTimeout(settleTimer);
    this.#http2?.destroy();
    await Promise.all(
      [...this.#transports.values()].map(({ upstreams }) =>
        drained ? upstreams.close() : upstreams.destroy(),
      ),
    );
    this.logger.info("http listener closed");
  }

  #drain(graceMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onDrained = undefined;
        resolve(false);
      }, graceMs);
      this.#onDrained = () => {
        clearTimeout(timer);
        this.#onDrained = undefined;
        resolve(true);
      };
    });
  }

  #checkDrained(): void {
    if (this.#onDrained !== undefined && this.inFlight === 0) this.#onDrained();
  }
}

function ignoreError(): void {}

/** `previous` when it was built from the same settings (its buckets carry on), else a new limiter. */
function reuseLimiter(
  previous: RateLimiter | undefined,
  options: RateLimitOptions,
  name: string,
): RateLimiter;
function reuseLimiter(
  previous: RateLimiter | undefined,
  options: RateLimitOptions | undefined,
  name: string,
): RateLimiter | undefined;
function reuseLimiter(
  previous: RateLimiter | undefined,
  options: RateLimitOptions | undefined,
  name: string,
): RateLimiter | undefined {
  if (options === undefined) return undefined;
  if (previous !== undefined && isDeepStrictEqual(previous.options, options)) return previous;
  return new RateLimiter(options, name);
}

const NO_USAGE: Readonly<UpstreamUsage> = Object.freeze({
  queued: 0,
  openConnections: 0,
  idleConnections: 0,
  requestBytes: 0,
  responseBytes: 0,
});

/** A quarter of the shortest client timeout, between 10 ms and 1 s: timeouts fire at most that late. */
function sweepPeriod(timeouts: Readonly<ProxyTimeouts>): number {
  return Math.min(1_000, Math.max(10, Math.floor(Math.min(timeouts.idleMs, timeouts.requestHeadMs) / 4)));
}

function positive(field: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) {
    throw invalidOption(`${field} must be a positive number of milliseconds`, { [field]: value });
  }
  // Whole milliseconds, as timers and sockets take them.
  return Math.ceil(result);
}

/** Node timers treat anything above 2^31-1 ms as 1 ms, which would close every tunnel at once. */
const MAX_TIMER_MS = 2_147_483_647;

function timerDuration(field: string, value: number | undefined, fallback: number): number {
  const result = positive(field, value, fallback);
  if (result > MAX_TIMER_MS) {
    throw invalidOption(`${field} must be at most ${MAX_TIMER_MS}`, { [field]: value });
  }
  return result;
}

/** A non-negative integer option where 0 means no limit. */
function count(field: string, value: number | undefined): number {
  const result = value ?? 0;
  if (!Number.isInteger(result) || result < 0) {
    throw invalidOption(`${field} must be a non-negative integer (0 for no limit)`, { [field]: value });
  }
  return result;
}

/** The HTTP/2 limits with defaults filled in, checked. */
function http2Limits(options: Http2Options, maxHeaderSize: number): Http2Limits {
  const limits: Http2Limits = {
    maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_HTTP2_LIMITS.maxConcurrentStreams,
    maxHeaderListSize: options.maxHeaderListSize ?? maxHeaderSize,
    initialWindowSize: options.initialWindowSize ?? DEFAULT_HTTP2_LIMITS.initialWindowSize,
    rapidReset: { ...DEFAULT_HTTP2_LIMITS.rapidReset, ...options.rapidReset },
  };
  const ranges: [string, number, number, number][] = [
    ["http2.maxConcurrentStreams", limits.maxConcurrentStreams, 1, 2 ** 31 - 1],
    ["http2.maxHeaderListSize", limits.maxHeaderListSize, 1024, 2 ** 31 - 1],
    ["http2.initialWindowSize", limits.initialWindowSize, 0, 2 ** 31 - 1],
    ["http2.rapidReset.maxResets", limits.rapidReset.maxResets, 1, 1_000_000],
    ["http2.rapidReset.windowMs", limits.rapidReset.windowMs, 1, MAX_TIMER_MS],
  ];
  for (const [field, value, min, max] of ranges) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw invalidOption(`${field} must be an integer from ${min} to ${max}`, { [field]: value });
    }
  }
  return limits;
}

/** Largest request body kept for retries: 64 MiB (the copy lives as long as its request). */
const MAX_RETRY_BUFFER_BYTES = 64 * 1024 * 1024;

function maxRetries(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw invalidOption("maxRetries must be an integer from 0 to 100", { maxRetries: value });
  }
  return value;
}

function retryStatuses(statuses: readonly number[] | undefined): ReadonlySet<number> | undefined {
  if (statuses === undefined) return undefined;
  if (!Array.isArray(statuses))
    throw invalidOption("retryOn.statuses must be an array of statuses", { statuses });
  for (const status of statuses) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw invalidOption("retryOn.statuses must hold integer statuses from 400 to 599", { status });
    }
  }
  return statuses.length === 0 ? undefined : new Set(statuses);
}

function invalidOption(message: string, details: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_OPTIONS, message, details);
}

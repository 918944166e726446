/**
 * HTTP reverse proxy listener. A TCP (or TLS) server accepts connections;
 * each is a `ClientConnection` (http1/client-connection.ts: strict parsing,
 * coded answers to refused requests, framing, keep-alive, timeouts) that
 * hands each request to an `Exchange` (exchange.ts), which picks a backend,
 * streams the request and response and decides on retries. Connections that
 * speak HTTP/2 (ALPN h2 on TLS, on by default; the preface on a plain
 * listener with `h2c`) go to `Http2Sessions` (http2/http2-sessions.ts),
 * whose streams reach the same `Exchange`. The options are checked and
 * defaulted in http-proxy-options.ts; the routes (and their rate limiters)
 * are a `RouteTable` (routes/route-table.ts) that a reload replaces; the
 * connections to each pool, keep-alive upstream pools and WebSocket tunnels,
 * are `PoolTransports` (pool-transports.ts). This file owns what lives
 * longer than a request and ties those together: the server and its
 * connections, handing a request to its route (Upgrade requests to a
 * tunnel), the retry budget shared by its exchanges, the counters behind
 * `stats()`, the in-flight count, and the graceful `close()`: stop
 * accepting, drain up to a grace period, then destroy what is left and close
 * the upstream pools.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import { AcceptSockets } from "../core/accept-sockets.js";
import type { Backend } from "../core/backend.js";
import { type ErrorCode, ErrorCodes, SwitchyardError } from "../core/errors.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import { type ClientHandle, socketWithSharedReads, takeAccepts } from "../core/shared-reads.js";
import type { HeadLimits } from "../http1/head-parser.js";
import { sweepPeriod } from "../http1/sweep-period.js";
import type { AccessLog } from "../observability/access-log.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { ProxyRequest, ResponseOwner, ResponseWriter } from "./client-side.js";
import { proxyError, rawErrorResponse, replyAndClose } from "./error-responses.js";
import { Exchange, type ExchangeHost } from "./exchange.js";
import {
  type HttpProxyOptions,
  type HttpProxySettings,
  httpProxySettings,
  type ProxyTimeouts,
} from "./http-proxy-options.js";
import {
  ClientConnection,
  type ClientConnectionHost,
  readIntoConnection,
} from "./http1/client-connection.js";
import type { ClientRequest } from "./http1/client-request.js";
import { type Http2Host, Http2Sessions } from "./http2/http2-sessions.js";
import { type PoolTransport, PoolTransports } from "./pool-transports.js";
import { type BackendUpstreamStats, type HttpProxyStats, ProxyCounters } from "./proxy-counters.js";
import { ProxyProtocolAccepts } from "./proxy-protocol-accepts.js";
import type { RateLimitOptions } from "./rate-limit/rate-limiter.js";
import { NoRoute } from "./routes/no-route.js";
import { describeRedirect, Redirect, type RedirectHost, type RedirectTarget } from "./routes/redirect.js";
import type { RouteOptions } from "./routes/route.js";
import { RouteTable } from "./routes/route-table.js";
import { TlsHandshakes } from "./tls-handshakes.js";
import type { UpstreamPools, UpstreamUsage } from "./upstream-pools.js";

export { DEFAULT_PROXY_TIMEOUTS, type HttpProxyOptions, type ProxyTimeouts } from "./http-proxy-options.js";

export const DEFAULT_HTTP_GRACE_MS = 10_000;
/** After the grace period, how long to wait for destroyed sockets to report closed. */
const DESTROY_SETTLE_MS = 1_000;

export class HttpProxy implements ExchangeHost, ClientConnectionHost, RedirectHost, Http2Host {
  readonly name: string;
  readonly timeouts: Readonly<ProxyTimeouts>;
  /** @internal */
  readonly retryBufferBytes: number;
  /** @internal */
  readonly attemptPolicy: AttemptPolicy;
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
  readonly #settings: HttpProxySettings;
  /** The HTTP/2 side; undefined when the listener speaks HTTP/1.1 only. */
  #http2: Http2Sessions | undefined;
  #server: AcceptSockets;
  /** Set when every connection opens with a PROXY protocol header. */
  #behindProxy: ProxyProtocolAccepts | undefined;
  /** TLS connections not yet through their handshake. */
  readonly #handshakes = new TlsHandshakes();
  #connections = new Set<ClientConnection>();
  /** Replaced whole by setRoutes, never edited in place. */
  #routes: RouteTable<PoolTransport>;
  readonly #transports: PoolTransports;
  #sweeper: NodeJS.Timeout | undefined;
  #address: { host: string; port: number } | undefined;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;

  constructor(options: HttpProxyOptions) {
    const settings = httpProxySettings(options);
    this.#settings = settings;
    this.name = settings.name;
    this.timeouts = settings.timeouts;
    this.headTimeoutMs = settings.timeouts.requestHeadMs;
    this.idleTimeoutMs = settings.timeouts.idleMs;
    this.retryBufferBytes = settings.retryBufferBytes;
    this.attemptPolicy = new AttemptPolicy({
      maxRetries: settings.retries.maxRetries,
      retryBudget: options.retryBudget,
    });
    this.headLimits = settings.headLimits;
    this.h2c = settings.h2c;
    this.logger = (options.logger ?? silentLogger).child({ component: "http-proxy", listener: this.name });
    this.accessLog = options.accessLog;
    this.#transports = new PoolTransports(settings, this.attemptPolicy, this.logger, () =>
      this.#checkDrained(),
    );
    const defaultPool =
      options.balancer === undefined ? undefined : { balancer: options.balancer, pool: options.pool };
    this.#routes = new RouteTable(
      { listener: this.name, retries: settings.retries, defaultPool, transport: this.#transports.to },
      options.routes ?? [],
      options.rateLimit,
    );
    if (settings.http2 !== undefined) this.#http2 = new Http2Sessions(this, settings.http2);
    if (settings.acceptProxyProtocol) {
      this.#behindProxy = new ProxyProtocolAccepts(settings.timeouts.requestHeadMs, this.logger);
    }
    this.#server = this.#listeningSockets(options.tls);
  }

  /**
   * Plain: every listening socket's connections come to #acceptPlain as
   * handles (shared-reads.ts). TLS: the extra sockets hand theirs to the TLS
   * server, as its own are. Behind a proxy, each connection's PROXY header is
   * read before either (proxy-protocol-accepts.ts).
   */
  #listeningSockets(tlsOptions: HttpProxyOptions["tls"]): AcceptSockets {
    const count = this.#settings.acceptSockets;
    const behindProxy = this.#behindProxy;
    if (tlsOptions !== undefined) {
      const server = this.#tlsServer(tlsOptions);
      if (behindProxy === undefined) return new AcceptSockets(server, count);
      const handshakes = this.#handshakes;
      const accept = (client: ClientHandle): void => behindProxy.tls(client, server, handshakes);
      return new AcceptSockets(server, count, (bound) => takeAccepts(bound, accept, this.#acceptFailed));
    }
    const accept =
      behindProxy === undefined
        ? this.#acceptPlain
        : (client: ClientHandle): void => behindProxy.plain(client, this.#connectionReady);
    return new AcceptSockets(net.createServer(), count, (bound) =>
      takeAccepts(bound, accept, this.#acceptFailed),
    );
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    if (this.#closing) {
      return Promise.reject(new SwitchyardError(ErrorCodes.SHUTTING_DOWN, "the HTTP proxy has been closed"));
    }
    return this.#server
      .listen(this.#settings.host, this.#settings.port, this.logger, "http listener")
      .then((address) => {
        this.#address = address;
        this.#sweeper ??= setInterval(
          this.#sweep,
          sweepPeriod(Math.min(this.timeouts.idleMs, this.timeouts.requestHeadMs)),
        );
        this.#sweeper.unref();
        return address;
      });
  }

  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error(`HTTP proxy "${this.name}" is not listening; call listen() first`);
    return this.#address;
  }

  /** The default pool's balancer: requests no route takes go there; none: they get 404. */
  get balancer(): Balancer | undefined {
    return this.#routes.defaultPool?.balancer;
  }

  /** Requests being proxied plus WebSocket tunnels open. */
  get inFlight(): number {
    return this.#inFlight + this.#transports.tunnels;
  }

  /**
   * Counters since the listener was created, each backend's queue and
   * connections now, and the requests each route took; see HttpProxyStats.
   */
  stats(): HttpProxyStats {
    const backends: BackendUpstreamStats[] = [];
    const pools = new Map<Balancer, string | undefined>();
    for (const { route } of this.#routes.entries)
      if (route.balancer && !pools.has(route.balancer)) pools.set(route.balancer, route.pool);
    for (const [balancer, pool] of pools) {
      const upstreams = this.#transports.upstreamsFor(balancer);
      for (const backend of balancer.pool.backends) {
        backends.push({ id: backend.id, pool, ...(upstreams?.usage(backend) ?? NO_USAGE) });
      }
    }
    const routes = this.#routes.entries.map(({ route }) => ({
      name: route.name,
      pool: route.pool,
      match: route.matchText,
      redirect: route.redirect === undefined ? undefined : describeRedirect(route.redirect),
      requests: route.requests,
      rateLimited: route.rateLimited,
    }));
    return this.counters.snapshot(this.inFlight, this.attemptPolicy, backends, routes);
  }

  /**
   * Replaces the routes and the listener's rate limit at once (a config
   * reload), and the default pool when `defaultPool` is given (null: none, so
   * requests no route takes get 404): requests already taken finish on the
   * route they started on, new ones use the new table. Kept route names keep their counters; a limit
   * whose settings did not change keeps its buckets. Throws
   * SY_ERR_INVALID_OPTIONS, and changes nothing, when a route is invalid.
   */
  setRoutes(
    routes: readonly RouteOptions[],
    rateLimit: RateLimitOptions | undefined,
    defaultPool?: { balancer: Balancer; pool: string | undefined } | null,
  ): void {
    this.#routes = this.#routes.reload(routes, rateLimit, defaultPool);
  }

  /** WebSocket tunnels open to `backend`. */
  tunnelsTo(backend: Backend): number {
    return this.#transports.tunnelsTo(backend);
  }

  /** @internal The keep-alive pools this listener keeps to `balancer`'s backends (for tests). */
  upstreamsFor(balancer: Balancer): UpstreamPools | undefined {
    return this.#transports.upstreamsFor(balancer);
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
    const { redirectToHttps } = this.#settings;
    if (redirectToHttps !== undefined) return new Redirect(this, request, connection, redirectToHttps);
    const entry = this.#routes.match(request);
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
      replyAndClose(socket, rawErrorResponse(proxyError(ErrorCodes.SHUTTING_DOWN)));
      return;
    }
    const entry = this.#routes.match(request);
    if (entry === undefined) {
      const noRoute = proxyError(ErrorCodes.NO_ROUTE);
      this._refused(noRoute.status, noRoute.code, false);
      socket.on("error", ignoreError);
      replyAndClose(socket, rawErrorResponse(noRoute));
      return;
    }
    const { route, transport } = entry;
    route.requests++;
    const refused = route.refusal(unmapIpv4(socket.remoteAddress), request);
    if (refused !== undefined) {
      const rateLimited = proxyError(ErrorCodes.RATE_LIMITED);
      this._refused(rateLimited.status, rateLimited.code, false);
      socket.on("error", ignoreError);
      replyAndClose(socket, rawErrorResponse(rateLimited, refused));
      return;
    }
    if (transport === undefined) {
      socket.on("error", ignoreError);
      replyAndClose(
        socket,
        rawErrorResponse(
          proxyError(ErrorCodes.BAD_REQUEST, `route "${route.name}" redirects; it takes no upgrades`),
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

  /** A plain connection reads into the buffer all of them share (shared-reads.ts). */
  #acceptPlain = (client: ClientHandle): void => {
    const socket = socketWithSharedReads(client, readIntoConnection);
    this.#connections.add(new ClientConnection(socket, this));
  };

  /** A plain connection whose PROXY header came: `rest` are the bytes after it. */
  #connectionReady = (socket: net.Socket, rest: Buffer): void => {
    const connection = new ClientConnection(socket, this);
    this.#connections.add(connection);
    if (rest.length > 0) connection._read(rest);
  };

  #acceptFailed = (code: string): void => {
    this.logger.error({ code }, "http listener could not accept a connection");
  };

  /** A TLS connection: HTTP/2 when ALPN chose it, else HTTP/1.1 read the usual way. */
  #onSecureConnection = (socket: tls.TLSSocket): void => {
    this.#handshakes.secured(socket);
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.#http2 !== undefined && socket.alpnProtocol === "h2") this.#http2.accept(socket);
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
      this.#onSecureConnection,
    );
    server.on("connection", this.#handshakes.begin);
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
    const closed = this.#server.close();
    this.#behindProxy?.destroy();
    this.#handshakes.destroy();
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
    this.#transports.destroyTunnels();
    let settleTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise<void>((resolve) => {
        settleTimer = setTimeout(resolve, DESTROY_SETTLE_MS);
      }),
    ]);
    clearTimeout(settleTimer);
    this.#http2?.destroy();
    await this.#transports.closeUpstreams(drained);
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

const NO_USAGE: Readonly<UpstreamUsage> = Object.freeze({
  queued: 0,
  openConnections: 0,
  idleConnections: 0,
  requestBytes: 0,
  responseBytes: 0,
});

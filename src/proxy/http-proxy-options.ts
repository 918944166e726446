/**
 * The options of an HTTP listener (`HttpProxyOptions`), their defaults, and
 * `httpProxySettings`, which checks them and fills the defaults in once, so
 * the listener (http-proxy.ts) only wires what it gets. A bad value throws
 * SY_ERR_INVALID_OPTIONS naming the field. The checks of a route's own retry
 * settings and timeout (routes/route-table.ts) are the same as the listener's.
 */

import { checkMaxRetries, DEFAULT_MAX_RETRIES } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { RetryBudgetOptions } from "../balancer/retry-budget.js";
import { acceptSocketCount } from "../core/accept-sockets.js";
import { MAX_TIMER_MS } from "../core/duration.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from "../http1/head-parser.js";
import type { AccessLog } from "../observability/access-log.js";
import type { Logger } from "../observability/logger.js";
import { DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS } from "./backend-tunnels.js";
import { DEFAULT_HTTP2_LIMITS, type Http2Limits, type Http2Options } from "./http2/http2-sessions.js";
import type { RateLimitOptions } from "./rate-limit/rate-limiter.js";
import type { RedirectTarget } from "./routes/redirect.js";
import type { RouteOptions, RouteSettings } from "./routes/route.js";
import type { TlsCertificates } from "./tls-certificates.js";
import type { UpstreamPoolOptions } from "./upstream-pools.js";

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
  /**
   * How long an idle upstream keep-alive connection is kept, in ms; default
   * 60000. A backend's `Keep-Alive: timeout=N` shortens it to N s less one.
   */
  upstreamIdleMs: number;
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
   * Listening sockets sharing the port (SO_REUSEPORT), each accepting one new
   * connection per event-loop turn, so a burst of clients is not accepted one
   * turn at a time; default 8, 1 to turn it off. Node ≥ 22.12 on Linux only;
   * elsewhere and in `--workers` mode one socket is used. See core/accept-sockets.ts.
   */
  acceptSockets?: number;
  /**
   * Every connection must open with a PROXY protocol header (v1 or v2, as
   * HAProxy's `accept-proxy` and NGINX's `listen ... proxy_protocol`), before
   * TLS on a TLS listener: the client it names is the one routed, limited,
   * logged and put in the forwarded headers. A connection without a valid
   * header within `timeouts.requestHeadMs` is closed. Only for a listener
   * that nothing but the proxy in front can reach. Default false.
   */
  acceptProxyProtocol?: boolean;
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
  // As NGINX's upstream keepalive_timeout: a pool that went quiet for a few
  // seconds still has its connections, so the next burst does not reconnect them all.
  upstreamIdleMs: 60_000,
});
export const DEFAULT_RETRY_BUFFER_BYTES = 65_536;
export const DEFAULT_MAX_HEADER_SIZE = 16_384;

export const DEFAULT_WEBSOCKET_IDLE_MS = 300_000;
export const DEFAULT_QUEUE_TIMEOUT_MS = 5_000;
/** Largest request body kept for retries: 64 MiB (the copy lives as long as its request). */
const MAX_RETRY_BUFFER_BYTES = 64 * 1024 * 1024;

/** The retry settings of a listener, which its routes inherit unless they set their own. */
export type RetrySettings = Omit<RouteSettings, "rateLimit">;

/** HttpProxyOptions' plain values, checked, with their defaults filled in. */
export interface HttpProxySettings {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly timeouts: Readonly<ProxyTimeouts>;
  readonly retries: RetrySettings;
  readonly retryBufferBytes: number;
  readonly headLimits: Readonly<HeadLimits>;
  readonly drainTimeoutMs: number;
  readonly websocketIdleMs: number;
  /** What every upstream pool of the listener gets, besides its pool's TLS, protocol and the logger. */
  readonly upstream: Readonly<Omit<UpstreamPoolOptions, "logger" | "tls" | "protocol">>;
  /** Set when every request is redirected to https instead of proxied. */
  readonly redirectToHttps: RedirectTarget | undefined;
  readonly h2c: boolean;
  /** The HTTP/2 limits when the listener speaks HTTP/2; undefined: HTTP/1.1 only. */
  readonly http2: Readonly<Http2Limits> | undefined;
  /** Listening sockets wanted on the port (see core/accept-sockets.ts). */
  readonly acceptSockets: number;
  readonly acceptProxyProtocol: boolean;
}

/** Checks `options` (throws SY_ERR_INVALID_OPTIONS on the first bad one) and fills in the defaults. */
export function httpProxySettings(options: HttpProxyOptions): HttpProxySettings {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidOption("port must be an integer from 0 to 65535", { port });
  }
  const timeouts: Readonly<ProxyTimeouts> = Object.freeze({
    connectMs: positiveMs(
      "timeouts.connectMs",
      options.timeouts?.connectMs,
      DEFAULT_PROXY_TIMEOUTS.connectMs,
    ),
    headersMs: positiveMs(
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
    upstreamIdleMs: timerDuration(
      "timeouts.upstreamIdleMs",
      options.timeouts?.upstreamIdleMs,
      DEFAULT_PROXY_TIMEOUTS.upstreamIdleMs,
    ),
  });
  const retries: RetrySettings = {
    maxRetries: checkMaxRetries(options.maxRetries ?? DEFAULT_MAX_RETRIES),
    retryStatuses: checkRetryStatuses(options.retryOn?.statuses),
  };
  const retryBufferBytes = options.retryBufferBytes ?? DEFAULT_RETRY_BUFFER_BYTES;
  if (
    !Number.isInteger(retryBufferBytes) ||
    retryBufferBytes < 0 ||
    retryBufferBytes > MAX_RETRY_BUFFER_BYTES
  ) {
    throw invalidOption(`retryBufferBytes must be an integer from 0 to ${MAX_RETRY_BUFFER_BYTES}`, {
      retryBufferBytes,
    });
  }
  const drainTimeoutMs = timerDuration(
    "drainTimeoutMs",
    options.drainTimeoutMs,
    DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS,
  );
  const maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 1024) {
    throw invalidOption("maxHeaderSize must be an integer of at least 1024", { maxHeaderSize });
  }
  let redirectToHttps: RedirectTarget | undefined;
  if (options.redirectToHttps !== undefined) {
    const httpsPort = options.redirectToHttps.port ?? 443;
    if (!Number.isInteger(httpsPort) || httpsPort < 1 || httpsPort > 65535) {
      throw invalidOption("redirectToHttps.port must be an integer from 1 to 65535", { port: httpsPort });
    }
    redirectToHttps = { scheme: "https", port: httpsPort, status: 308 };
  }
  const upstream = Object.freeze({
    connectTimeoutMs: timeouts.connectMs,
    headersTimeoutMs: timeouts.headersMs,
    bodyTimeoutMs: timeouts.idleMs,
    idleTimeoutMs: timeouts.upstreamIdleMs,
    maxConnections: count("maxConnections", options.maxConnections),
    maxRequests: count("maxRequestsPerConnection", options.maxRequestsPerConnection),
    queueTimeoutMs: timerDuration("queueTimeoutMs", options.queueTimeoutMs, DEFAULT_QUEUE_TIMEOUT_MS),
  });
  const websocketIdleMs = timerDuration(
    "websocketIdleMs",
    options.websocketIdleMs,
    DEFAULT_WEBSOCKET_IDLE_MS,
  );
  const h2c = options.h2c === true;
  if (h2c && options.http2 === false) throw invalidOption("h2c needs http2, which is false", {});
  // Offered by ALPN on TLS; on a plain listener only to clients with prior knowledge (h2c).
  const http2 =
    options.http2 !== false && (options.tls !== undefined || h2c)
      ? http2Limits(options.http2 ?? {}, maxHeaderSize)
      : undefined;
  return {
    name: options.name ?? "http",
    host: options.host ?? "127.0.0.1",
    port,
    timeouts,
    retries,
    retryBufferBytes,
    headLimits: Object.freeze({ ...DEFAULT_HEAD_LIMITS, maxHeadBytes: maxHeaderSize }),
    drainTimeoutMs,
    websocketIdleMs,
    upstream,
    redirectToHttps,
    h2c,
    http2,
    acceptSockets: acceptSocketCount(options.acceptSockets),
    acceptProxyProtocol: options.acceptProxyProtocol === true,
  };
}

/** A duration option in whole milliseconds, above 0. */
export function positiveMs(field: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) {
    throw invalidOption(`${field} must be a positive number of milliseconds`, { [field]: value });
  }
  // Whole milliseconds, as timers and sockets take them.
  return Math.ceil(result);
}

/** A duration option that a node timer can hold. */
function timerDuration(field: string, value: number | undefined, fallback: number): number {
  const result = positiveMs(field, value, fallback);
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

/** A listener's or a route's `retryOn.statuses`, checked, as a set; undefined when there are none. */
export function checkRetryStatuses(statuses: readonly number[] | undefined): ReadonlySet<number> | undefined {
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

export function invalidOption(message: string, details: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_OPTIONS, message, details);
}

/**
 * The proxy's connection pools to its backends: one per backend origin, a
 * `ConnectionPool` (src/http1/connection-pool.ts: keep-alive, maxConnections,
 * wait queue) or, for a pool whose `backendProtocol` is `h2`, a `SessionPool`
 * (http2/session-pool.ts: streams on shared HTTP/2 sessions), either created on the first request to it, so a backend that never
 * gets traffic costs nothing. A pool closes (gracefully: requests in flight
 * finish) when the last backend with its origin leaves the balancer's pool,
 * and all pools close with the proxy. A request still sent to a backend that
 * left (a retry chosen just before the removal) gets a one-off pool that
 * closes behind it, so a removed origin never keeps connections open.
 */
import type { Backend, BackendProtocol } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import { tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import { ConnectionPool, type ConnectionPoolOptions } from "../http1/connection-pool.js";
import type { UpstreamHandler, UpstreamRequest } from "../http1/upstream-handler.js";
import type { Logger } from "../observability/logger.js";
import { SessionPool } from "./http2/session-pool.js";

export interface UpstreamPoolOptions extends Omit<ConnectionPoolOptions, "tls"> {
  logger: Logger;
  /** TLS settings for `https://` backends (the balancer's `backendTls`). */
  tls: UpstreamTls;
  /** Default http1. */
  protocol?: BackendProtocol;
}

/** What both kinds of per-origin pool offer. */
interface OriginPool {
  readonly queued: number;
  readonly open: number;
  readonly idle: number;
  readonly bytesWritten: number;
  readonly bytesRead: number;
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
  close(): Promise<void>;
  destroy(): void;
}

/** A backend's connection pool right now. */
export interface UpstreamUsage {
  /** Requests waiting for a connection (all `maxConnections` busy; for HTTP/2, every stream too). */
  queued: number;
  /** Connections open: connecting, carrying a request, or idle (HTTP/2: sessions). */
  openConnections: number;
  /** Open connections waiting for a request (HTTP/2: sessions with no stream). */
  idleConnections: number;
  /** Bytes sent to the backend (request heads and bodies, retries and hedges included) since its pool opened. */
  requestBytes: number;
  /** Bytes read from the backend (response heads and bodies) since its pool opened. */
  responseBytes: number;
}

export class UpstreamPools {
  #options: UpstreamPoolOptions;
  #pools = new Map<string, OriginPool>();
  #members: Pool;
  #closed = false;
  #onRemoved = (backend: Backend) => this.#release(backend);

  constructor(members: Pool, options: UpstreamPoolOptions) {
    this.#members = members;
    this.#options = options;
    members.on("removed", this.#onRemoved);
  }

  /** Number of origins with an open pool. */
  get size(): number {
    return this.#pools.size;
  }

  /** The queue, connections and bytes of `backend`'s pool; zeros before its first request. */
  usage(backend: Backend): UpstreamUsage {
    const pool = this.#pools.get(backend.origin);
    return {
      queued: pool?.queued ?? 0,
      openConnections: pool?.open ?? 0,
      idleConnections: pool?.idle ?? 0,
      requestBytes: pool?.bytesWritten ?? 0,
      responseBytes: pool?.bytesRead ?? 0,
    };
  }

  /**
   * Sends one request to `backend`. A backend no longer in the pool gets a
   * pool of its own that closes once this request is done.
   */
  dispatch(backend: Backend, request: UpstreamRequest, handler: UpstreamHandler): void {
    const pool = this.#pools.get(backend.origin);
    if (pool !== undefined) {
      pool.dispatch(request, handler);
      return;
    }
    if (this.#closed || this.#isMember(backend)) {
      this.#create(backend).dispatch(request, handler);
      return;
    }
    const oneOff = this.#build(backend);
    oneOff.dispatch(request, handler);
    void oneOff.close();
  }

  /** Whether a pool exists for `origin` (for tests and stats). */
  has(origin: string): boolean {
    return this.#pools.has(origin);
  }

  /** Closes every pool, letting requests in flight finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#members.off("removed", this.#onRemoved);
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  /** Destroys every pool at once, failing requests in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#members.off("removed", this.#onRemoved);
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const pool of pools) pool.destroy();
  }

  #create(backend: Backend): OriginPool {
    const pool = this.#build(backend);
    // After close, a late caller gets a closed pool: its dispatch fails cleanly instead of leaking sockets.
    if (this.#closed) void pool.close();
    else this.#pools.set(backend.origin, pool);
    return pool;
  }

  #build(backend: Backend): OriginPool {
    const { tls, protocol, ...options } = this.#options;
    if (protocol === "h2")
      return new SessionPool(backend.host, backend.port, {
        ...options,
        tls: tlsConnectOptions(backend, tls, "h2"),
      });
    return new ConnectionPool(backend.host, backend.port, {
      ...options,
      tls: tlsConnectOptions(backend, tls),
    });
  }

  #isMember(backend: Backend): boolean {
    for (const member of this.#members.backends) if (member.origin === backend.origin) return true;
    return false;
  }

  #release(backend: Backend): void {
    const origin = backend.origin;
    const pool = this.#pools.get(origin);
    if (!pool) return;
    for (const member of this.#members.backends) if (member.origin === origin) return;
    this.#pools.delete(origin);
    this.#options.logger.debug({ origin }, "closing the connection pool of a removed backend");
    void pool.close();
  }
}

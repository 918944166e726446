/**
 * Keep-alive connection pools to the backends: one undici `Pool` per backend
 * origin, created on the first request to it, so a backend that never gets
 * traffic costs nothing. A pool closes (gracefully: requests in flight finish)
 * when the last backend with its origin leaves the balancer's pool, and all
 * pools close with the proxy. A request still sent to a backend that left
 * (a retry chosen just before the removal) gets a one-off pool that closes
 * behind it, so a removed origin never keeps connections open.
 */
import { type Dispatcher, Pool as UndiciPool } from "undici";
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { Logger } from "../observability/logger.js";

export interface UpstreamPoolOptions {
  /** Upper bound on establishing a connection, in ms. */
  connectTimeoutMs: number;
  /** Upper bound on waiting for response headers, in ms. */
  headersTimeoutMs: number;
  /** Upper bound on the gap between two response body chunks, in ms. */
  bodyTimeoutMs: number;
  /** How long an idle upstream connection is kept when the backend names no Keep-Alive timeout; default undici's 4 s. */
  keepAliveTimeoutMs?: number;
  /** Connections per origin; default unlimited (one per concurrent request). */
  connections?: number;
  logger: Logger;
}

export class UpstreamPools {
  #options: UpstreamPoolOptions;
  #pools = new Map<string, UndiciPool>();
  #members: Pool;
  #closed = false;
  #onRemoved = (backend: Backend) => this.#release(backend.origin);

  constructor(members: Pool, options: UpstreamPoolOptions) {
    this.#members = members;
    this.#options = options;
    members.on("removed", this.#onRemoved);
  }

  /** Number of origins with an open pool. */
  get size(): number {
    return this.#pools.size;
  }

  /** The pool for `backend`'s origin, created on first use. */
  get(backend: Backend): UndiciPool {
    return this.#pools.get(backend.origin) ?? this.#create(backend.origin);
  }

  /**
   * Sends one request to `backend`. A backend no longer in the pool gets a
   * pool of its own that closes once this request is done.
   */
  dispatch(backend: Backend, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    const pool = this.#pools.get(backend.origin);
    if (pool !== undefined) {
      pool.dispatch(options, handler);
      return;
    }
    if (this.#closed || this.#isMember(backend)) {
      this.#create(backend.origin).dispatch(options, handler);
      return;
    }
    const oneOff = this.#build(backend.origin);
    oneOff.dispatch(options, handler);
    oneOff.close().catch(() => undefined);
  }

  /** Whether a pool exists for `origin` (for tests and stats). */
  has(origin: string): boolean {
    return this.#pools.has(origin);
  }

  /** Closes every pool, letting requests in flight finish; later `get` calls return closed pools. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#members.off("removed", this.#onRemoved);
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
  }

  /** Destroys every pool at once, failing requests in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#members.off("removed", this.#onRemoved);
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }

  #create(origin: string): UndiciPool {
    const pool = this.#build(origin);
    // After close, a late caller gets a closed pool: its dispatch fails cleanly instead of leaking sockets.
    if (this.#closed) pool.close().catch(() => undefined);
    else this.#pools.set(origin, pool);
    return pool;
  }

  #build(origin: string): UndiciPool {
    const options = this.#options;
    const pool = new UndiciPool(origin, {
      connections: options.connections ?? null,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      ...(options.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: options.keepAliveTimeoutMs } : {}),
    });
    pool.on("connectionError", (_origin, _targets, error) => {
      options.logger.debug({ origin, err: error }, "upstream connection failed");
    });
    return pool;
  }

  #isMember(backend: Backend): boolean {
    for (const member of this.#members.backends) if (member.origin === backend.origin) return true;
    return false;
  }

  #release(origin: string): void {
    const pool = this.#pools.get(origin);
    if (!pool) return;
    for (const backend of this.#members.backends) if (backend.origin === origin) return;
    this.#pools.delete(origin);
    pool.close().catch((error: unknown) => this.#options.logger.debug({ origin, err: error }, "pool close"));
  }
}

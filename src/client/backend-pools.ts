/**
 * One undici `Pool` per backend (keep-alive connections, its own queue),
 * created on the first request to the backend, so a backend that never gets
 * traffic costs nothing. A pool closes gracefully (requests in flight
 * finish) when its backend leaves the balancer's pool, and all close with
 * the client. A request sent to a backend that just left (a retry chosen
 * before the removal) gets a one-off pool that closes behind it. An
 * `https://` backend is reached with the balancer's backend TLS settings
 * unless `connect` options are given.
 */
import { Pool as UndiciPool } from "undici";
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import { tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";

/** undici `Pool` options the client passes through (timeouts, connections per backend). */
export type BackendPoolOptions = Omit<UndiciPool.Options, "factory">;

export class BackendPools {
  readonly #options: BackendPoolOptions;
  readonly #tls: UpstreamTls;
  readonly #members: Pool;
  readonly #pools = new Map<Backend, UndiciPool>();
  #closed = false;
  readonly #onRemoved = (backend: Backend) => {
    const pool = this.#pools.get(backend);
    if (pool === undefined) return;
    this.#pools.delete(backend);
    void pool.close();
  };

  constructor(members: Pool, options: BackendPoolOptions, tls: UpstreamTls) {
    this.#members = members;
    this.#options = options;
    this.#tls = tls;
    members.on("removed", this.#onRemoved);
  }

  /** The pool that sends requests to `backend`. */
  for(backend: Backend): UndiciPool {
    const pool = this.#pools.get(backend);
    if (pool !== undefined) return pool;
    const created = new UndiciPool(backend.origin, {
      ...this.#options,
      connect: this.#options.connect ?? tlsConnectOptions(backend, this.#tls),
    });
    if (this.#closed || this.#members.get(backend.id) !== backend) {
      // Closing at once still lets the request being dispatched finish.
      queueMicrotask(() => void created.close());
    } else {
      this.#pools.set(backend, created);
    }
    return created;
  }

  /** Closes every pool, letting requests in flight finish. */
  async close(): Promise<void> {
    await Promise.all(this.#release().map((pool) => pool.close()));
  }

  /** Destroys every pool, failing requests in flight. */
  async destroy(error?: Error): Promise<void> {
    await Promise.all(this.#release().map((pool) => pool.destroy(error ?? null)));
  }

  #release(): UndiciPool[] {
    this.#closed = true;
    this.#members.off("removed", this.#onRemoved);
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    return pools;
  }
}

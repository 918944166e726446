/**
 * One undici `Pool` per backend (keep-alive connections, its own queue),
 * created on the first request to the backend, so a backend that never gets
 * traffic costs nothing. A pool closes gracefully (requests in flight
 * finish) when its backend leaves the balancer's pool, and all close with
 * the client. A request sent to a backend that just left (a retry chosen
 * before the removal) gets a one-off pool that closes behind it. An
 * `https://` backend is reached with the balancer's backend TLS settings
 * unless `connect` options are given. To a service whose `backendProtocol`
 * is `h2` the pools speak HTTP/2 as the proxy does: h2c with prior knowledge
 * to `http://` backends, ALPN `h2` over TLS (undici's `useH2c` and
 * `allowH2`), requests as streams of one connection per backend (unless
 * `poolOptions.connections` says otherwise).
 */
import { Pool as UndiciPool } from "undici";
import type { Backend, BackendProtocol } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import { tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";

/** undici `Pool` options the client passes through (timeouts, connections per backend). */
export type BackendPoolOptions = Omit<UndiciPool.Options, "factory">;

export class BackendPools {
  readonly #options: BackendPoolOptions;
  readonly #tls: UpstreamTls;
  readonly #http2: boolean;
  readonly #members: Pool;
  readonly #pools = new Map<Backend, UndiciPool>();
  #closed = false;
  readonly #onRemoved = (backend: Backend) => {
    const pool = this.#pools.get(backend);
    if (pool === undefined) return;
    this.#pools.delete(backend);
    void pool.close();
  };

  constructor(members: Pool, options: BackendPoolOptions, tls: UpstreamTls, protocol: BackendProtocol) {
    this.#members = members;
    this.#options = options;
    this.#tls = tls;
    this.#http2 = protocol === "h2";
    members.on("removed", this.#onRemoved);
  }

  /** The pool that sends requests to `backend`. */
  for(backend: Backend): UndiciPool {
    const pool = this.#pools.get(backend);
    if (pool !== undefined) return pool;
    const created = new UndiciPool(backend.origin, {
      // One HTTP/2 connection carries the backend's requests as streams, as the proxy's does.
      ...(this.#http2 ? { connections: 1 } : {}),
      ...this.#options,
      allowH2: this.#http2,
      connect: this.#options.connect ?? this.#connectOptions(backend),
    });
    if (this.#closed || this.#members.get(backend.id) !== backend) {
      // Closing at once still lets the request being dispatched finish.
      queueMicrotask(() => void created.close());
    } else {
      this.#pools.set(backend, created);
    }
    return created;
  }

  /** How a new connection to `backend` is made: TLS with the backend settings, h2c with prior knowledge. */
  #connectOptions(backend: Backend): UndiciPool.Options["connect"] {
    if (backend.tls) return tlsConnectOptions(backend, this.#tls, this.#http2 ? "h2" : "http/1.1");
    // undici's Pool does not pass its own useH2c on to the connector it builds, but that
    // connector reads it from the connect options (its type does not list it yet).
    return this.#http2 ? ({ useH2c: true } as UndiciPool.Options["connect"]) : undefined;
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

/**
 * Long-lived tunnels (WebSocket, raw TCP) grouped by the backend they run to,
 * so a backend leaving the pool takes its tunnels with it (connection
 * draining, as the DWCP geo balancer asks). HTTP requests drain by themselves
 * (the pool waits for its in-flight count), but a tunnel can stay open for hours, so: when a backend
 * turns `draining`, its tunnels keep working for `drainTimeoutMs` and are then
 * closed; when it is removed (after `pool.remove` has waited out its own drain,
 * or at once without one), they are closed immediately. A backend that leaves
 * `draining` for another state before the deadline keeps its tunnels.
 */
import type { Backend, BackendState } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { Logger } from "../observability/logger.js";

/** A tunnel the registry can close. */
export interface DrainableTunnel {
  /** Closes both sides now. */
  destroy(): void;
}

export const DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS = 30_000;

export class BackendTunnels<T extends DrainableTunnel> {
  readonly #pool: Pool;
  readonly #drainTimeoutMs: number;
  readonly #logger: Logger;
  readonly #kind: string;
  #byBackend = new Map<Backend, Set<T>>();
  #deadlines = new Map<Backend, NodeJS.Timeout>();
  #attached = true;

  /** `kind` names the tunnels in logs ("websocket", "tcp"). */
  constructor(pool: Pool, drainTimeoutMs: number, logger: Logger, kind: string) {
    this.#pool = pool;
    this.#drainTimeoutMs = drainTimeoutMs;
    this.#logger = logger;
    this.#kind = kind;
    pool.on("state-changed", this.#onStateChanged);
    pool.on("removed", this.#onRemoved);
  }

  /** Tunnels open to `backend`. */
  count(backend: Backend): number {
    return this.#byBackend.get(backend)?.size ?? 0;
  }

  /** A tunnel to `backend` opened. A backend that already left gets it closed at once. */
  add(backend: Backend, tunnel: T): void {
    let set = this.#byBackend.get(backend);
    if (set === undefined) {
      set = new Set();
      this.#byBackend.set(backend, set);
    }
    set.add(tunnel);
    if (this.#attached && this.#pool.get(backend.id) !== backend) {
      this.#logger.debug(
        { backend: backend.id },
        `${this.#kind} tunnel opened to a removed backend; closing`,
      );
      tunnel.destroy();
    }
  }

  /** A tunnel to `backend` closed. */
  delete(backend: Backend, tunnel: T): void {
    const set = this.#byBackend.get(backend);
    if (set === undefined || !set.delete(tunnel) || set.size > 0) return;
    this.#byBackend.delete(backend);
  }

  /** Stops following the pool and cancels pending deadlines (the listener is closing). */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#pool.off("state-changed", this.#onStateChanged);
    this.#pool.off("removed", this.#onRemoved);
    for (const timer of this.#deadlines.values()) clearTimeout(timer);
    this.#deadlines.clear();
  }

  #onStateChanged = (backend: Backend, previous: BackendState): void => {
    if (backend.state === "draining") {
      if (this.#deadlines.has(backend)) return;
      const timer = setTimeout(() => {
        this.#deadlines.delete(backend);
        this.#closeAll(backend, "drain timeout over");
      }, this.#drainTimeoutMs);
      // A pending deadline must not keep the process alive by itself.
      timer.unref();
      this.#deadlines.set(backend, timer);
    } else if (previous === "draining") {
      this.#cancel(backend);
    }
  };

  #onRemoved = (backend: Backend): void => {
    this.#cancel(backend);
    this.#closeAll(backend, "backend removed");
  };

  #cancel(backend: Backend): void {
    const timer = this.#deadlines.get(backend);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#deadlines.delete(backend);
  }

  #closeAll(backend: Backend, reason: string): void {
    const set = this.#byBackend.get(backend);
    if (set === undefined || set.size === 0) return;
    this.#logger.info(
      { backend: backend.id, tunnels: set.size, reason },
      `closing ${this.#kind} tunnels to a departing backend`,
    );
    // Destroying a tunnel deletes it from the set; iterate over a copy.
    for (const tunnel of [...set]) tunnel.destroy();
  }
}

/**
 * Leases (SwarmGuard's lease-based routing): every routed request takes a lease
 * on its backend, and a lease lives `durationMs` (default 30 s). The number of
 * live leases is the backend's load for the `lease` and `hybrid` algorithms.
 *
 * Expiry is lazy and exact, on the injected clock: all leases of a table have
 * the same duration, so each backend's expiry times are a FIFO queue, and
 * counting first drops the expired head. SwarmGuard's 1 s cleanup loop becomes
 * unnecessary (a lease never outlives its expiry, not even by the cleanup
 * interval), and no timer runs. With `releaseOnFinish` a lease also ends when
 * its request finishes, so the count is the in-flight work with a 30 s
 * safety net for requests that never report back.
 *
 * Memory: one 8-byte slot per live lease (a ring buffer per backend).
 */
import type { Backend } from "../core/backend.js";

export const DEFAULT_LEASE_DURATION_MS = 30_000;

/** A backend's lease expiry times in acquisition order (a growable ring of doubles). */
class LeaseQueue {
  #times = new Float64Array(8);
  #head = 0;
  size = 0;
  /** Leases that expired while their request could still report a finish (releaseOnFinish). */
  overdue = 0;

  push(expiresAt: number): void {
    if (this.size === this.#times.length) this.#grow();
    this.#times[(this.#head + this.size) % this.#times.length] = expiresAt;
    this.size++;
  }

  /** Drops the leases expired at `now`; returns how many. */
  expire(now: number): number {
    let dropped = 0;
    while (this.size > 0 && (this.#times[this.#head] as number) <= now) {
      this.#head = this.#head + 1 === this.#times.length ? 0 : this.#head + 1;
      this.size--;
      dropped++;
    }
    return dropped;
  }

  /** Ends the oldest live lease. */
  shift(): void {
    if (this.size === 0) return;
    this.#head = this.#head + 1 === this.#times.length ? 0 : this.#head + 1;
    this.size--;
  }

  #grow(): void {
    const times = new Float64Array(this.#times.length * 2);
    for (let i = 0; i < this.size; i++)
      times[i] = this.#times[(this.#head + i) % this.#times.length] as number;
    this.#times = times;
    this.#head = 0;
  }
}

export interface LeaseTableOptions {
  durationMs?: number;
  /** End a lease when its request finishes, not only at expiry; default false (SwarmGuard). */
  releaseOnFinish?: boolean;
  /** Millisecond clock (the selector env's). */
  now: () => number;
}

export class LeaseTable {
  readonly durationMs: number;
  readonly releaseOnFinish: boolean;
  #now: () => number;
  #queues = new Map<Backend, LeaseQueue>();
  #granted = 0;
  #expired = 0;

  constructor(options: LeaseTableOptions) {
    this.durationMs = options.durationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.releaseOnFinish = options.releaseOnFinish ?? false;
    this.#now = options.now;
  }

  /** Grants a lease on `backend` for a request routed to it. */
  acquire(backend: Backend): void {
    let queue = this.#queues.get(backend);
    if (!queue) {
      queue = new LeaseQueue();
      this.#queues.set(backend, queue);
    }
    const now = this.#now();
    this.#expireQueue(queue, now);
    queue.push(now + this.durationMs);
    this.#granted++;
  }

  /** A request on `backend` finished; ends a lease when `releaseOnFinish`. */
  release(backend: Backend): void {
    if (!this.releaseOnFinish) return;
    const queue = this.#queues.get(backend);
    if (!queue) return;
    this.#expireQueue(queue, this.#now());
    if (queue.overdue > 0) queue.overdue--;
    else queue.shift();
  }

  /** Live leases on `backend` now. */
  count(backend: Backend): number {
    const queue = this.#queues.get(backend);
    if (!queue) return 0;
    this.#expireQueue(queue, this.#now());
    return queue.size;
  }

  /** Forgets backends no longer in the pool (call on rebuild). */
  retain(backends: readonly Backend[]): void {
    if (this.#queues.size === 0) return;
    const keep = new Set(backends);
    for (const backend of this.#queues.keys()) if (!keep.has(backend)) this.#queues.delete(backend);
  }

  /** Leases granted and expired so far, and live now, for stats. */
  totals(): { granted: number; expired: number; live: number } {
    const now = this.#now();
    let live = 0;
    for (const queue of this.#queues.values()) {
      this.#expireQueue(queue, now);
      live += queue.size;
    }
    return { granted: this.#granted, expired: this.#expired, live };
  }

  #expireQueue(queue: LeaseQueue, now: number): void {
    const dropped = queue.expire(now);
    if (dropped === 0) return;
    this.#expired += dropped;
    if (this.releaseOnFinish) queue.overdue += dropped;
  }
}

/**
 * The simulator's requests in flight, as a structure of typed arrays indexed
 * by slot, with a free list: a request takes a slot on arrival and gives it
 * back when it completes or fails for good, so memory follows the peak
 * concurrency, not the request count. `token` changes at every dispatch, so an
 * event scheduled for an earlier attempt of the same slot is recognised as
 * stale and ignored. A hedged request holds two slots, one per attempt,
 * linked through `peer`; the loser of the race becomes an ORPHAN when it is
 * still queued or in service at its backend, and is released when that
 * backend drops or finishes it.
 */
import type { Decision } from "../core/decision.js";

/** Slot states. */
export const FREE = 0;
/** Sent to a failing backend; the connect error is pending. */
export const CONNECTING = 1;
/** Waiting in a backend's FIFO queue. */
export const QUEUED = 2;
/** Being served by a backend. */
export const SERVING = 3;
/** A cancelled hedge loser still queued or in service at its backend; nobody waits for it. */
export const ORPHAN = 4;

export class RequestTable {
  arrival: Float64Array;
  attemptStart: Float64Array;
  /** Quantile of the request's service time in [0, 1): its "size". */
  size: Float64Array;
  key: Int32Array;
  backend: Int32Array;
  token: Int32Array;
  /** Failovers used so far. */
  retries: Int32Array;
  /** Requests at the backend when this attempt arrived there (its latency is filed under it). */
  rifAtArrival: Int32Array;
  state: Uint8Array;
  /** The slot of the other attempt of a hedged request, or -1. */
  peer: Int32Array;
  /** 1 when the slot's attempt is a hedge (its service time is drawn afresh on backends with backend variability). */
  hedge: Uint8Array;
  decisions: (Decision | undefined)[];
  #free: Int32Array;
  #freeCount: number;

  constructor(capacity = 1024) {
    this.arrival = new Float64Array(capacity);
    this.attemptStart = new Float64Array(capacity);
    this.size = new Float64Array(capacity);
    this.key = new Int32Array(capacity);
    this.backend = new Int32Array(capacity);
    this.token = new Int32Array(capacity);
    this.retries = new Int32Array(capacity);
    this.rifAtArrival = new Int32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.peer = new Int32Array(capacity).fill(-1);
    this.hedge = new Uint8Array(capacity);
    this.decisions = new Array(capacity).fill(undefined);
    this.#free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i;
    this.#freeCount = capacity;
  }

  /** Slots allocated so far (free or not); scan `0..capacity` to visit every request. */
  get capacity(): number {
    return this.state.length;
  }

  allocate(): number {
    if (this.#freeCount === 0) this.#grow();
    const slot = this.#free[--this.#freeCount] as number;
    this.retries[slot] = 0;
    this.peer[slot] = -1;
    this.hedge[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    this.state[slot] = FREE;
    this.decisions[slot] = undefined;
    this.#free[this.#freeCount++] = slot;
  }

  #grow(): void {
    const old = this.capacity;
    const capacity = old * 2;
    this.arrival = grown(this.arrival, new Float64Array(capacity));
    this.attemptStart = grown(this.attemptStart, new Float64Array(capacity));
    this.size = grown(this.size, new Float64Array(capacity));
    this.key = grown(this.key, new Int32Array(capacity));
    this.backend = grown(this.backend, new Int32Array(capacity));
    this.token = grown(this.token, new Int32Array(capacity));
    this.retries = grown(this.retries, new Int32Array(capacity));
    this.rifAtArrival = grown(this.rifAtArrival, new Int32Array(capacity));
    this.state = grown(this.state, new Uint8Array(capacity));
    this.peer = grown(this.peer, new Int32Array(capacity));
    this.hedge = grown(this.hedge, new Uint8Array(capacity));
    for (let i = old; i < capacity; i++) this.decisions.push(undefined);
    this.#free = grown(this.#free, new Int32Array(capacity));
    for (let i = capacity - 1; i >= old; i--) this.#free[this.#freeCount++] = i;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

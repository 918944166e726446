/**
 * One simulated backend: its capacity and service-time distribution, what is
 * in service and waiting, the episode state (slow-down factor, failing), the
 * passive-detection counter, its latency estimate for load probes, and what the run measures about it (attempts per
 * load window, alive intervals, served and failed counts, busy slot-time for the agents' CPU
 * figures). The pool `Backend` it stands for is attached when it joins the pool.
 */
import type { Backend, BackendSpec } from "../core/backend.js";
import { LatencyByRif } from "../core/latency-by-rif.js";
import { ServiceTime } from "./distributions.js";
import { IntFifo } from "./event-queue.js";
import type { SimBackendSpec } from "./scenarios.js";

/** Windows over which load spread is compared (see `windowedLoadSpread`). */
export const LOAD_WINDOWS = 10;

export class SimBackend {
  readonly index: number;
  readonly spec: SimBackendSpec;
  readonly service: ServiceTime;
  /** Request slots waiting for a free place, oldest first. */
  readonly queue = new IntFifo();
  /** The pool's backend, once joined. */
  backend: Backend | undefined;
  /** The backend's own latency estimate by requests in flight, reported to load probes. */
  readonly latency = new LatencyByRif();
  /** Product of the slow-down episodes in force. */
  slowFactor = 1;
  /** Failure episodes in force; the backend refuses attempts while above 0. */
  failing = 0;
  connectErrorMs = 1;
  /** Failed attempts in a row, as the simulated proxy's passive check counts them. */
  consecutiveFailures = 0;
  routed = 0;
  served = 0;
  failedAttempts = 0;
  aliveMs = 0;
  /** Flattened [start, end) pairs of alive time within the arrival window, ms. */
  readonly aliveIntervals: number[] = [];
  /** Attempts routed in each load window of the arrival window. */
  readonly routedPerWindow = new Float64Array(LOAD_WINDOWS);
  /** Every dispatch time, when asked for. */
  readonly routing: number[] | undefined;
  #aliveSince = -1;
  #busy = 0;
  /** Busy slot-ms up to `#busySince`. */
  #busySlotMs = 0;
  #busySince = 0;
  #durationMs: number;
  #windowMs: number;

  constructor(index: number, spec: SimBackendSpec, durationMs: number, recordRouting: boolean) {
    this.index = index;
    this.spec = spec;
    this.service = new ServiceTime(spec.service);
    this.#durationMs = durationMs;
    this.#windowMs = durationMs / LOAD_WINDOWS;
    if (recordRouting) this.routing = [];
  }

  /** The pool entry for this backend (a made-up address: nothing connects to it). */
  get poolSpec(): BackendSpec {
    const n = this.index + 1;
    return { id: this.spec.id, address: `10.0.${n >>> 8}.${n & 255}:8080`, weight: this.spec.weight ?? 1 };
  }

  /** Requests in service (at most `spec.capacity`). */
  get busy(): number {
    return this.#busy;
  }

  /** Sets the requests in service at `now`, accruing the busy slot-time before the change. */
  setBusy(busy: number, now: number): void {
    this.#busySlotMs = this.busySlotMs(now);
    this.#busySince = now;
    this.#busy = busy;
  }

  /** Requests in service × ms, summed from the start of the run to `now`. */
  busySlotMs(now: number): number {
    return this.#busySlotMs + this.#busy * (now - this.#busySince);
  }

  /** Requests here now, in service and waiting. */
  get rif(): number {
    return this.busy + this.queue.size;
  }

  /** Counts an attempt sent here at `now`. */
  countDispatch(now: number): void {
    this.routed++;
    if (now < this.#durationMs) {
      const window = Math.min(LOAD_WINDOWS - 1, Math.floor(now / this.#windowMs));
      this.routedPerWindow[window] = (this.routedPerWindow[window] as number) + 1;
    }
    this.routing?.push(now);
  }

  /**
   * Re-evaluates alive = in the pool and not failing (or `ended`), closing or
   * opening an alive interval at `now`, clipped to the arrival window.
   */
  updateAlive(now: number, ended = false): void {
    const at = Math.min(now, this.#durationMs);
    const alive = !ended && this.backend !== undefined && this.failing === 0;
    if (alive && this.#aliveSince < 0) this.#aliveSince = at;
    else if (!alive && this.#aliveSince >= 0) {
      this.aliveMs += at - this.#aliveSince;
      if (at > this.#aliveSince) this.aliveIntervals.push(this.#aliveSince, at);
      this.#aliveSince = -1;
    }
  }
}

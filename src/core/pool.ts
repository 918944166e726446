/**
 * The pool: the single owner of backend state. Membership, weights, the
 * operator's enable switch and health state change only through it, and every
 * change is announced as an event. Readers get `backends`, an immutable array
 * replaced (never mutated) on membership or weight change, so a selector can
 * rebuild from it while requests in flight keep the old one.
 */
import { EventEmitter } from "node:events";
import { Backend, type BackendSpec, type BackendState } from "./backend.js";
import { ErrorCodes, SwitchyardError } from "./errors.js";

export interface PoolEvents {
  added: [backend: Backend];
  removed: [backend: Backend];
  "state-changed": [backend: Backend, previous: BackendState];
  "weight-changed": [backend: Backend, previous: number];
  "enabled-changed": [backend: Backend];
  "circuit-changed": [backend: Backend];
  /** Membership or weights changed: selectors must rebuild from `pool.backends`. */
  changed: [backends: readonly Backend[]];
}

export interface RemoveOptions {
  /** Stop new traffic, wait for work in flight to finish, then remove. Default false. */
  drain?: boolean;
  /** Upper bound on the drain wait, in ms; default 30 s (DWCP). */
  drainTimeoutMs?: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const DRAIN_POLL_MS = 25;

export class Pool extends EventEmitter<PoolEvents> {
  #byId = new Map<string, Backend>();
  #backends: readonly Backend[] = Object.freeze([]);

  constructor(specs: readonly BackendSpec[] = []) {
    super();
    for (const spec of specs) this.add(spec);
  }

  /** Current members in insertion order; an immutable snapshot. */
  get backends(): readonly Backend[] {
    return this.#backends;
  }

  get size(): number {
    return this.#backends.length;
  }

  get(id: string): Backend | undefined {
    return this.#byId.get(id);
  }

  /** Like `get`, but throws a coded error for an unknown id. */
  require(id: string): Backend {
    const backend = this.#byId.get(id);
    if (!backend) throw new SwitchyardError(ErrorCodes.UNKNOWN_BACKEND, `no backend with id "${id}"`, { id });
    return backend;
  }

  add(spec: BackendSpec): Backend {
    validateWeight(spec.weight ?? 1);
    const backend = new Backend(spec);
    if (this.#byId.has(backend.id)) {
      throw new SwitchyardError(ErrorCodes.DUPLICATE_BACKEND, `backend "${backend.id}" already exists`, {
        id: backend.id,
      });
    }
    this.#byId.set(backend.id, backend);
    this.#publish();
    this.emit("added", backend);
    return backend;
  }

  /**
   * Removes a backend. With `drain`, the backend first turns `draining` (no new
   * traffic) and is removed once its in-flight work reaches zero or the drain
   * timeout passes, whichever comes first.
   */
  async remove(id: string, options: RemoveOptions = {}): Promise<Backend> {
    const backend = this.require(id);
    if (options.drain) {
      this.setState(id, "draining");
      const deadline = Date.now() + (options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
      while (backend.inFlight > 0 && Date.now() < deadline && this.#byId.get(id) === backend) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    }
    if (this.#byId.get(id) !== backend) return backend;
    this.#byId.delete(id);
    this.#publish();
    this.emit("removed", backend);
    return backend;
  }

  setWeight(id: string, weight: number): void {
    validateWeight(weight);
    const backend = this.require(id);
    const previous = backend.configuredWeight;
    if (previous === weight) return;
    backend._setWeight(weight);
    this.#publish();
    this.emit("weight-changed", backend, previous);
  }

  enable(id: string): void {
    this.#setEnabled(id, true);
  }

  disable(id: string): void {
    this.#setEnabled(id, false);
  }

  setState(id: string, state: BackendState): void {
    const backend = this.require(id);
    const previous = backend.state;
    if (previous === state) return;
    backend._setState(state);
    this.emit("state-changed", backend, previous);
  }

  /** Opens or closes a backend's circuit (written by the balancer's breakers). */
  setCircuitOpen(id: string, open: boolean): void {
    const backend = this.require(id);
    if (backend.circuitOpen === open) return;
    backend._setCircuitOpen(open);
    this.emit("circuit-changed", backend);
  }

  #setEnabled(id: string, enabled: boolean): void {
    const backend = this.require(id);
    if (backend.enabled === enabled) return;
    backend._setEnabled(enabled);
    this.emit("enabled-changed", backend);
  }

  #publish(): void {
    this.#backends = Object.freeze([...this.#byId.values()]);
    this.emit("changed", this.#backends);
  }
}

function validateWeight(weight: number): void {
  if (!Number.isFinite(weight) || weight < 0 || weight > 10_000) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `weight must be a number from 0 to 10000, got ${weight}`,
      {
        weight,
      },
    );
  }
}

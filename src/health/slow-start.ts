/**
 * Slow start (after Envoy's and NGINX's `slow_start`): a backend that joins a
 * running pool or comes back from unhealthy does not take its full share at
 * once; its weight ramps linearly from 10% to 100% of the configured weight
 * over `durationMs`, in ten steps on one unref'd timer per ramping backend,
 * and ends at exactly the configured weight. An operator's `setWeight`
 * during a ramp wins: the ramp notices the weight is not the one it set and
 * stops without touching it again.
 */
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";

export const SLOW_START_STEPS = 10;
/** Share of the weight a ramp starts from. */
export const SLOW_START_FLOOR = 0.1;

export interface SlowStartDetails {
  /** The configured weight the ramp ends at. */
  targetWeight: number;
  /** 0 at the start of the ramp, 1 at its end. */
  progress: number;
}

interface Ramp {
  target: number;
  step: number;
  /** The weight this ramp last set; anything else means someone else changed it. */
  expected: number;
  timer: NodeJS.Timeout | undefined;
}

export class SlowStart {
  readonly durationMs: number;
  #pool: Pool;
  #ramps = new Map<Backend, Ramp>();

  constructor(pool: Pool, durationMs: number) {
    this.#pool = pool;
    this.durationMs = durationMs;
  }

  /**
   * Starts (or restarts) `backend`'s ramp. A backend already ramping keeps
   * its original target; a weight of 0 has nothing to ramp.
   */
  begin(backend: Backend): void {
    if (this.durationMs <= 0 || this.#pool.get(backend.id) !== backend) return;
    const current = this.#ramps.get(backend);
    if (current) clearTimeout(current.timer);
    const target =
      current && backend.configuredWeight === current.expected ? current.target : backend.configuredWeight;
    if (target <= 0) {
      this.#ramps.delete(backend);
      return;
    }
    const ramp: Ramp = { target, step: 0, expected: backend.configuredWeight, timer: undefined };
    this.#ramps.set(backend, ramp);
    this.#apply(backend, ramp);
  }

  /** Ends `backend`'s ramp where it is (it left the pool). */
  cancel(backend: Backend): void {
    const ramp = this.#ramps.get(backend);
    if (!ramp) return;
    clearTimeout(ramp.timer);
    this.#ramps.delete(backend);
  }

  /** Ends every ramp, giving each backend its configured weight back (unless changed meanwhile). */
  stop(): void {
    for (const [backend, ramp] of this.#ramps) {
      clearTimeout(ramp.timer);
      if (this.#owns(backend, ramp)) this.#pool.setWeight(backend.id, ramp.target);
    }
    this.#ramps.clear();
  }

  details(backend: Backend): SlowStartDetails | undefined {
    const ramp = this.#ramps.get(backend);
    return ramp && { targetWeight: ramp.target, progress: ramp.step / SLOW_START_STEPS };
  }

  #apply(backend: Backend, ramp: Ramp): void {
    const share = SLOW_START_FLOOR + ((1 - SLOW_START_FLOOR) * ramp.step) / SLOW_START_STEPS;
    const weight = ramp.step >= SLOW_START_STEPS ? ramp.target : rampWeight(ramp.target, share);
    ramp.expected = weight;
    this.#pool.setWeight(backend.id, weight);
    if (ramp.step >= SLOW_START_STEPS) {
      this.#ramps.delete(backend);
      return;
    }
    ramp.timer = setTimeout(() => this.#advance(backend, ramp), this.durationMs / SLOW_START_STEPS);
    ramp.timer.unref();
  }

  #advance(backend: Backend, ramp: Ramp): void {
    ramp.timer = undefined;
    if (this.#ramps.get(backend) !== ramp) return;
    if (!this.#owns(backend, ramp)) {
      this.#ramps.delete(backend);
      return;
    }
    ramp.step++;
    this.#apply(backend, ramp);
  }

  #owns(backend: Backend, ramp: Ramp): boolean {
    return this.#pool.get(backend.id) === backend && backend.configuredWeight === ramp.expected;
  }
}

/** `target × share`, to three decimals, never rounded down to 0. */
function rampWeight(target: number, share: number): number {
  const weight = Math.round(target * share * 1000) / 1000;
  return weight > 0 ? weight : Math.min(target, 0.001);
}

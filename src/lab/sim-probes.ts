/**
 * Prequal's load probes in the simulator: a probe is answered `delayMs`
 * (the probe's round trip) after it is sent, from the simulated backend's
 * state at that moment: requests in flight (in service and waiting) and its
 * latency estimate at that RIF, as a real backend answers them. A
 * failing backend answers nothing (the balancer then falls back to its own
 * view). Replies are simulation events, so a run stays a pure function of
 * its seed.
 */
import type { Backend } from "../core/backend.js";
import type { ProbeMiss, ProbeReply, ProbeRequest, ProbeTransport } from "../core/probe.js";
import type { SimBackend } from "./sim-backend.js";

/** Default probe round trip, ms: a small request inside one datacenter. */
export const DEFAULT_PROBE_DELAY_MS = 0.5;

export class SimProbes implements ProbeTransport {
  #delayMs: number;
  #schedule: (at: number, id: number) => void;
  #now: () => number;
  #simOf: (backend: Backend) => SimBackend;
  #pending = new Map<number, { backend: Backend; done: (reply: ProbeReply | ProbeMiss) => void }>();
  #nextId = 0;

  /**
   * `schedule(at, id)` queues the simulation event that calls `deliver(id)`
   * at time `at`; `simOf` maps a pool backend to its simulated one.
   */
  constructor(options: {
    delayMs: number;
    now: () => number;
    schedule: (at: number, id: number) => void;
    simOf: (backend: Backend) => SimBackend;
  }) {
    this.#delayMs = options.delayMs;
    this.#now = options.now;
    this.#schedule = options.schedule;
    this.#simOf = options.simOf;
  }

  probe(backend: Backend, _request: ProbeRequest, done: (reply: ProbeReply | ProbeMiss) => void): void {
    const id = this.#nextId++;
    // The simulated backend is looked up on delivery: a balancer probes backends as they join, before the run maps them.
    this.#pending.set(id, { backend, done });
    this.#schedule(this.#now() + this.#delayMs, id);
  }

  /** The probe `id` is back: answers it from its backend's state now. */
  deliver(id: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    const { backend, done } = pending;
    const sim = this.#simOf(backend);
    done(
      sim.failing > 0
        ? "unanswered"
        : { rif: sim.rif, latencyMs: sim.latency.estimate(sim.rif, this.#now()) },
    );
  }
}

/**
 * A request's way through the simulated proxy and backends, driven by the
 * simulation's events: its pick (`Balancer.select()`), its attempts at the
 * backends (connect, FIFO queue, service), failover, hedging and the proxy's
 * passive detection, each in a slot of the `RequestTable`.
 *
 * - Backends: `capacity` requests in service at once, more wait FIFO; service
 *   time from the backend's distribution, times the slow-down factor in force
 *   when service starts. A failing backend refuses attempts after
 *   `connectErrorMs`; one that dies resets the requests in it (`crash`).
 * - Passive detection: after `failThreshold` consecutive failed attempts on a
 *   backend the proxy marks it unhealthy in the pool.
 * - Failover walks `decision.next()` as the proxy does, at most `MAX_RETRIES`
 *   times; a request fails for the client only when every candidate failed.
 * - Outcome reported to the balancer: the attempt's own latency (from sending
 *   it, queueing included); for a first attempt that is the time from arrival.
 * - Hedging, when the algorithm hedges (ALPHA1, via `balancer.hedging`): at
 *   arrival an idempotent request is given the policy's delay; if its first
 *   attempt is still that same attempt (not failed over) and unanswered when
 *   the delay is up, and the budget allows, `decision.hedge()` opens a second
 *   attempt on the next candidate. The first answer is the request's; the
 *   other attempt is finished with HEDGE_CANCELLED. A cancelled attempt still
 *   waiting in its backend's queue (or connecting) is dropped there and never
 *   served; one already in service keeps its place until its service time is
 *   over (the backend notices the cancel only when it is done), so losers cost
 *   capacity as they would on a real server. Which attempt won is reported
 *   to the policy (`settled`), as the proxy would. While both attempts are
 *   open, a failed one just ends: the other carries the request; failover
 *   happens only when no other attempt is open. On backends with
 *   `variability: "backend"` a hedge (or failover) draws its own service
 *   time; otherwise it takes as long as the first try would.
 */
import { AttemptPolicy, DEFAULT_MAX_RETRIES } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { HEDGE_CANCELLED, type Outcome } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import type { RandomStreams } from "./distributions.js";
import type { EventQueue } from "./event-queue.js";
import { CONNECTING, ORPHAN, QUEUED, RequestTable, SERVING } from "./request-table.js";
import type { RunRecorder } from "./run-recorder.js";
import type { SimBackend } from "./sim-backend.js";
import { ATTEMPT_FAILED, COMPLETE, HEDGE } from "./sim-events.js";

/** Failovers per request, as the proxy's default (DESIGN: at most 3 retries). */
export const MAX_RETRIES = DEFAULT_MAX_RETRIES;

export interface SimRequestsOptions {
  /** Where attempts schedule their events. */
  queue: EventQueue;
  /** The simulation clock, ms. */
  now: () => number;
  balancer: Balancer;
  random: RandomStreams;
  recorder: RunRecorder;
  /** The simulated backends, by index. */
  backends: readonly SimBackend[];
  /** The simulated backend of a pool backend. */
  simOf: (backend: Backend) => SimBackend;
  /** Consecutive failed attempts after which the proxy marks a backend down. */
  failThreshold: number;
}

export class SimRequests {
  #requests = new RequestTable();
  #queue: EventQueue;
  #now: () => number;
  #balancer: Balancer;
  #random: RandomStreams;
  #recorder: RunRecorder;
  #backends: readonly SimBackend[];
  #simOf: (backend: Backend) => SimBackend;
  #failThreshold: number;
  /** The proxy's attempt rule; no retry budget, so a scenario's failovers are all seen. */
  #attemptPolicy = new AttemptPolicy({ maxRetries: MAX_RETRIES, retryBudget: false });
  /** The algorithm's hedging controls (`balancer.hedging`); undefined when it does not hedge. */
  #hedging: HedgeController | undefined;

  constructor(options: SimRequestsOptions) {
    this.#queue = options.queue;
    this.#now = options.now;
    this.#balancer = options.balancer;
    this.#random = options.random;
    this.#recorder = options.recorder;
    this.#backends = options.backends;
    this.#simOf = options.simOf;
    this.#failThreshold = options.failThreshold;
    this.#hedging = options.balancer.hedging;
  }

  /** A request for `key` of service-time quantile `size` arrives now: picks its backend and sends it. */
  arrive(key: number, size: number, ctx: RequestContext): void {
    const t = this.#now();
    let decision: Decision;
    try {
      decision = this.#balancer.select(ctx);
    } catch (error) {
      if (!isSwitchyardError(error, ErrorCodes.NO_BACKEND)) throw error;
      this.#recorder.noBackend++;
      this.#recorder.clientError(t);
      return;
    }
    const requests = this.#requests;
    const slot = requests.allocate();
    requests.arrival[slot] = t;
    requests.key[slot] = key;
    requests.size[slot] = size;
    requests.decisions[slot] = decision;
    this.#dispatch(slot, this.#simOf(decision.backend));
    const hedging = this.#hedging;
    if (!hedging) return;
    const delay = hedging.allows(decision.ctx) ? hedging.delayMs() : undefined;
    if (delay !== undefined) this.#queue.push(t + delay, HEDGE, slot, requests.token[slot] as number);
  }

  /** The hedge delay of the attempt `token` in `slot` is up: hedge it if it is still open and the budget allows. */
  hedge(slot: number, token: number): void {
    const requests = this.#requests;
    const state = requests.state[slot];
    if (requests.token[slot] !== token || (requests.peer[slot] as number) >= 0) return;
    if (state !== CONNECTING && state !== QUEUED && state !== SERVING) return;
    if (!(this.#hedging as HedgeController).acquire()) return;
    const hedge = (requests.decisions[slot] as Decision).hedge();
    if (!hedge) return;
    const second = requests.allocate();
    requests.arrival[second] = requests.arrival[slot] as number;
    requests.key[second] = requests.key[slot] as number;
    requests.size[second] = requests.size[slot] as number;
    requests.retries[second] = requests.retries[slot] as number;
    requests.hedge[second] = 1;
    requests.decisions[second] = hedge;
    requests.peer[second] = slot;
    requests.peer[slot] = second;
    this.#recorder.hedges++;
    this.#dispatch(second, this.#simOf(hedge.backend));
  }

  /** The losing attempt of a hedged request: finished as cancelled, dropped if not yet in service. */
  #cancel(slot: number): void {
    const requests = this.#requests;
    requests.peer[slot] = -1;
    (requests.decisions[slot] as Decision).finish({ error: HEDGE_CANCELLED });
    requests.decisions[slot] = undefined;
    if (requests.state[slot] === CONNECTING) {
      requests.token[slot] = (requests.token[slot] as number) + 1;
      requests.release(slot);
    } else {
      requests.state[slot] = ORPHAN;
    }
  }

  #dispatch(slot: number, sim: SimBackend): void {
    const t = this.#now();
    const requests = this.#requests;
    requests.backend[slot] = sim.index;
    requests.attemptStart[slot] = t;
    const token = (requests.token[slot] as number) + 1;
    requests.token[slot] = token;
    sim.countDispatch(t);
    requests.rifAtArrival[slot] = sim.rif;
    if (sim.failing > 0) {
      requests.state[slot] = CONNECTING;
      this.#queue.push(t + sim.connectErrorMs, ATTEMPT_FAILED, slot, token);
    } else if (sim.busy < sim.spec.capacity) {
      this.#startService(slot, sim);
    } else {
      requests.state[slot] = QUEUED;
      sim.queue.push(slot);
    }
  }

  #startService(slot: number, sim: SimBackend): void {
    const requests = this.#requests;
    sim.setBusy(sim.busy + 1, this.#now());
    requests.state[slot] = SERVING;
    const fresh =
      sim.spec.variability === "backend" &&
      ((requests.hedge[slot] as number) === 1 || (requests.retries[slot] as number) > 0);
    const quantile = fresh ? this.#random.attempts() : (requests.size[slot] as number);
    const serviceMs = sim.service.quantile(quantile) * sim.slowFactor;
    this.#queue.push(this.#now() + serviceMs, COMPLETE, slot, requests.token[slot] as number);
  }

  complete(slot: number, token: number): void {
    const requests = this.#requests;
    const state = requests.state[slot];
    if ((state !== SERVING && state !== ORPHAN) || requests.token[slot] !== token) return;
    const sim = this.#backends[requests.backend[slot] as number] as SimBackend;
    sim.setBusy(sim.busy - 1, this.#now());
    sim.latency.observe(
      requests.rifAtArrival[slot] as number,
      this.#now() - (requests.attemptStart[slot] as number),
      this.#now(),
    );
    if (state === ORPHAN) requests.release(slot);
    else this.#succeed(slot, sim);
    this.#startNext(sim);
  }

  /** A place is free at `sim`: serve the oldest waiting attempt, dropping cancelled ones. */
  #startNext(sim: SimBackend): void {
    if (sim.failing > 0) return;
    const requests = this.#requests;
    for (let slot = sim.queue.shift(); slot >= 0; slot = sim.queue.shift()) {
      if (requests.state[slot] === ORPHAN) {
        requests.release(slot);
        continue;
      }
      this.#startService(slot, sim);
      return;
    }
  }

  #succeed(slot: number, sim: SimBackend): void {
    const t = this.#now();
    const requests = this.#requests;
    const outcome: Outcome = { status: 200, latencyMs: t - (requests.attemptStart[slot] as number) };
    (requests.decisions[slot] as Decision).finish(outcome);
    sim.consecutiveFailures = 0;
    sim.served++;
    this.#recorder.success(requests.arrival[slot] as number, t, requests.key[slot] as number, sim.index);
    const peer = requests.peer[slot] as number;
    if (peer >= 0) {
      this.#cancel(peer);
      this.#hedging?.settled(requests.hedge[slot] === 1);
    }
    requests.release(slot);
  }

  connectFailed(slot: number, token: number): void {
    const requests = this.#requests;
    if (requests.state[slot] !== CONNECTING || requests.token[slot] !== token) return;
    this.#attemptFailed(
      slot,
      this.#backends[requests.backend[slot] as number] as SimBackend,
      "connect refused",
    );
  }

  /**
   * Closes a failed attempt, feeds passive detection, and fails over or gives
   * up; an attempt whose hedge twin is still open just ends.
   */
  #attemptFailed(slot: number, sim: SimBackend, error: string): void {
    const requests = this.#requests;
    const decision = requests.decisions[slot] as Decision;
    const outcome: Outcome = { error, latencyMs: this.#now() - (requests.attemptStart[slot] as number) };
    decision.finish(outcome);
    sim.failedAttempts++;
    if (++sim.consecutiveFailures >= this.#failThreshold && sim.backend?.ready) {
      this.#balancer.pool.setState(sim.spec.id, "unhealthy");
      this.#recorder.event(this.#now(), sim.spec.id, "marked-down");
    }
    const peer = requests.peer[slot] as number;
    if (peer >= 0) {
      requests.peer[peer] = -1;
      requests.release(slot);
      return;
    }
    // A simulated failure is a refused connect: the request never reached the backend.
    if (this.#attemptPolicy.allowsRetry(requests.retries[slot] as number, "always", false)) {
      const next = decision.next();
      if (next) {
        this.#attemptPolicy.retried();
        requests.retries[slot] = (requests.retries[slot] as number) + 1;
        this.#recorder.retries++;
        this.#dispatch(slot, this.#simOf(next));
        return;
      }
    }
    this.#recorder.clientError(requests.arrival[slot] as number);
    requests.release(slot);
  }

  /**
   * The backend dies: every request queued or in service on it is reset (and
   * may fail over); cancelled hedges still there are simply gone.
   */
  crash(sim: SimBackend): void {
    const requests = this.#requests;
    const victims: number[] = [];
    for (let slot = sim.queue.shift(); slot >= 0; slot = sim.queue.shift()) {
      if (requests.state[slot] === ORPHAN) requests.release(slot);
      else victims.push(slot);
    }
    for (let slot = 0; slot < requests.capacity; slot++) {
      if (requests.backend[slot] !== sim.index) continue;
      if (requests.state[slot] === SERVING) victims.push(slot);
      else if (requests.state[slot] === ORPHAN) {
        requests.token[slot] = (requests.token[slot] as number) + 1;
        requests.release(slot);
      }
    }
    sim.setBusy(0, this.#now());
    for (const slot of victims) {
      requests.token[slot] = (requests.token[slot] as number) + 1;
      this.#attemptFailed(slot, sim, "connection reset");
    }
  }
}

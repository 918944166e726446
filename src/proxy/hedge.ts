/**
 * Hedged requests in the HTTP proxy (Dean & Barroso, "The Tail at Scale",
 * CACM 2013). An exchange whose algorithm hedges (`balancer.hedging`, ALPHA1)
 * and whose request may be sent twice runs its first attempt through a
 * `HedgeRace`: one timer is armed for the policy's delay when the first
 * attempt is dispatched; if no response head has arrived when it fires, the
 * body is complete and kept, and the budget gives a token (`acquire()`), a
 * second attempt goes to the next candidate (`decision.hedge()`) with its own
 * handler. The first attempt to receive a response head wins and is adopted
 * by the exchange, which streams it as usual (retries on `retryOn` statuses
 * included); the other is aborted (undici closes its connection, so the
 * backend sees the request go away) and finished with HEDGE_CANCELLED, and
 * the policy hears who won (`settled`). An attempt that fails while its twin
 * is still open just ends (its outcome is reported); the last one left fails
 * through the exchange, whose usual failover and coded answers apply. A
 * client that goes away, or a gRPC deadline that passes, cancels both.
 * Every path clears the timer.
 *
 * Each attempt is its own small undici handler (`RaceAttempt`) that forwards
 * to the exchange once it carries the request and drops everything once it
 * lost, so the exchange's handler code is the same hedged or not; requests
 * that are not hedged never allocate any of this.
 */
import type { Backend } from "../core/backend.js";
import { now } from "../core/clock.js";
import type { Decision } from "../core/decision.js";
import { HEDGE_CANCELLED } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import type { UpstreamHandler } from "../http1/upstream-handler.js";
import type { Logger } from "../observability/logger.js";
import type { ProxyCounters } from "./proxy-counters.js";
import { classify } from "./upstream-failures.js";

/** The abort reason a losing attempt gets. */
const HEDGE_LOST = new Error("another attempt of the request answered first");

/** Where a race counts and logs (the listener). */
export interface RaceHost {
  readonly counters: ProxyCounters;
  readonly logger: Logger;
}

/** What a race needs from its exchange. */
export interface RaceOwner extends UpstreamHandler {
  /**
   * Whether a hedge may be sent now: the client is still there, the proxy is
   * not shutting down, and the request body (if any) has fully arrived and
   * is kept.
   */
  _mayHedge(): boolean;
  /** Sends an attempt to `backend` with `handler`; `hedge` sends the kept body beside the first attempt's. */
  _send(backend: Backend, handler: UpstreamHandler, hedge: boolean): void;
  /**
   * The race is over and `decision`'s attempt carries the request from here:
   * the exchange takes its decision, start time and abort, and gets its callbacks.
   */
  _adopt(decision: Decision, startedAt: number, abort: ((error?: Error) => void) | undefined): void;
}

const RACING = 0;
const CARRYING = 1;
const DROPPED = 2;

/** One attempt of a hedged request: an undici handler that forwards to the race, then to the exchange. */
class RaceAttempt implements UpstreamHandler {
  readonly race: HedgeRace;
  readonly decision: Decision;
  readonly isHedge: boolean;
  readonly startedAt = now();
  abort: ((error?: Error) => void) | undefined = undefined;
  state = RACING;

  constructor(race: HedgeRace, decision: Decision, isHedge: boolean) {
    this.race = race;
    this.decision = decision;
    this.isHedge = isHedge;
  }

  /** Stops this attempt: aborted now when connected, else as soon as undici connects it. */
  drop(): void {
    this.state = DROPPED;
    const abort = this.abort;
    this.abort = undefined;
    abort?.(HEDGE_LOST);
  }

  onConnect(abort: (error?: Error) => void): void {
    if (this.state === DROPPED) abort(HEDGE_LOST);
    else this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    if (this.state === DROPPED) return false;
    if (this.state === RACING) {
      // Informational responses (103 Early Hints...) are no answer yet.
      if (statusCode < 200) return true;
      this.race.won(this);
    }
    return this.race.owner.onHeaders(statusCode, rawHeaders, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    if (this.state !== CARRYING) return false;
    return this.race.owner.onData(chunk);
  }

  onComplete(trailers: string[] | null): void {
    if (this.state === CARRYING) this.race.owner.onComplete(trailers);
  }

  onError(error: Error): void {
    if (this.state === DROPPED) return;
    if (this.state === RACING && this.race.failed(this, error)) return;
    this.race.owner.onError(error);
  }
}

/** One hedged request: its timer, its first attempt and, once the delay is up, its hedge. */
export class HedgeRace {
  readonly owner: RaceOwner;
  readonly #host: RaceHost;
  readonly #hedging: HedgeController;
  readonly #delayMs: number;
  readonly #first: RaceAttempt;
  #second: RaceAttempt | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    owner: RaceOwner,
    host: RaceHost,
    hedging: HedgeController,
    decision: Decision,
    delayMs: number,
  ) {
    this.owner = owner;
    this.#host = host;
    this.#hedging = hedging;
    this.#delayMs = delayMs;
    this.#first = new RaceAttempt(this, decision, false);
  }

  /** Arms the timer and dispatches the first attempt (in that order: undici may fail it at once). */
  start(): void {
    this.#host.counters.hedgeTimers++;
    this.#timer = setTimeout(onHedgeTimer, this.#delayMs, this);
    this.owner._send(this.#first.decision.backend, this.#first, false);
  }

  /**
   * The client went away or the call's deadline passed: both attempts are
   * stopped; the first is reported as the exchange would, the hedge as cancelled.
   */
  cancel(): void {
    this.#clearTimer();
    const first = this.#first;
    if (first.state === RACING) {
      first.drop();
      first.decision.finish({});
    }
    const second = this.#second;
    if (second?.state === RACING) {
      second.drop();
      second.decision.finish({ error: HEDGE_CANCELLED });
    }
  }

  /** @internal `attempt` received a response head first: it carries the request, its twin is cancelled. */
  won(attempt: RaceAttempt): void {
    this.#clearTimer();
    attempt.state = CARRYING;
    const second = this.#second;
    if (second !== undefined) {
      const loser = attempt === second ? this.#first : second;
      if (loser.state === RACING) {
        loser.drop();
        loser.decision.finish({ error: HEDGE_CANCELLED });
      }
      if (attempt.isHedge) this.#host.counters.hedgeWins++;
      this.#hedging.settled(attempt.isHedge);
    }
    this.owner._adopt(attempt.decision, attempt.startedAt, attempt.abort);
    attempt.abort = undefined;
  }

  /**
   * @internal `attempt` failed before a response head. True when its twin is
   * still open and carries on alone; false when it was the last one, which
   * then fails through the exchange (failover or a coded answer).
   */
  failed(attempt: RaceAttempt, error: Error): boolean {
    attempt.abort = undefined;
    const twin = attempt === this.#first ? this.#second : this.#first;
    if (twin?.state === RACING) {
      attempt.state = DROPPED;
      const failure = classify(error);
      const latencyMs = now() - attempt.startedAt;
      attempt.decision.finish(failure.blame ? { error: failure.code, latencyMs } : {});
      this.#host.logger.debug(
        { backend: attempt.decision.backend.id, err: error, hedge: attempt.isHedge },
        "hedged attempt failed, its twin carries on",
      );
      return true;
    }
    this.#clearTimer();
    attempt.state = CARRYING;
    this.owner._adopt(attempt.decision, attempt.startedAt, undefined);
    return false;
  }

  /** @internal The delay is up: hedge when the first attempt has no answer yet and the budget allows. */
  fire(): void {
    this.#timer = undefined;
    this.#host.counters.hedgeTimers--;
    const first = this.#first;
    if (first.state !== RACING || !this.owner._mayHedge() || !this.#hedging.acquire()) return;
    const decision = first.decision.hedge();
    if (decision === undefined) return;
    const second = new RaceAttempt(this, decision, true);
    this.#second = second;
    this.#host.counters.hedges++;
    this.#host.logger.debug(
      { backend: first.decision.backend.id, hedge: decision.backend.id, delayMs: this.#delayMs },
      "no answer yet, hedging on the next candidate",
    );
    this.owner._send(decision.backend, second, true);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#host.counters.hedgeTimers--;
  }
}

function onHedgeTimer(race: HedgeRace): void {
  race.fire();
}

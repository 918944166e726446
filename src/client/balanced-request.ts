/**
 * One request through the client: the balancer picks a backend, an
 * `Attempt` (an undici handler) carries the request to that backend's
 * undici Pool, and the caller's handler hears one request whatever happened
 * behind it. The request is the caller's controller: pause, resume and
 * abort reach the attempt that carries the response.
 *
 * - Failover: an attempt that fails before any response head reached the
 *   caller goes to the next candidate (`decision.next()`) when the failure
 *   allows it (never sent, or a reset of an idempotent request), the body
 *   can be sent again, `maxRetries` is not spent and the retry budget allows
 *   it. Once a response head is out, a failure ends the request.
 * - Hedging ("The Tail at Scale", Dean & Barroso 2013), when the algorithm
 *   hedges (ALPHA1): if no head has arrived after the policy's delay, a
 *   second attempt goes to the next candidate (`decision.hedge()`); the
 *   first head wins, the other attempt is aborted and finished as cancelled.
 * - Every attempt is reported to the balancer with its outcome (status and
 *   latency, or the failure's code when the backend is to blame).
 */
import type { IncomingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import { HEDGE_CANCELLED } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import { classifyAttemptError } from "./attempt-failures.js";
import type { BackendPools } from "./backend-pools.js";
import type { ControllerHandler } from "./handler-adapter.js";

/** What a request needs from its service. */
export interface RequestHost {
  readonly balancer: Balancer;
  readonly pools: BackendPools;
  /** When a failed attempt goes to the next candidate: the service's retries and budget. */
  readonly attemptPolicy: AttemptPolicy;
}

/** The abort reason of an attempt that lost its hedge race or whose caller went away. */
const DROPPED = new Error("the request no longer needs this attempt");

/** One try of the request on one backend. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly request: BalancedRequest;
  readonly decision: Decision;
  readonly isHedge: boolean;
  readonly startedAt = performance.now();
  controller: Dispatcher.DispatchController | undefined = undefined;
  dropped = false;

  constructor(request: BalancedRequest, decision: Decision, isHedge: boolean) {
    this.request = request;
    this.decision = decision;
    this.isHedge = isHedge;
  }

  /** Stops the attempt: aborted now when undici has started it, else as soon as it does. */
  drop(): void {
    this.dropped = true;
    this.controller?.abort(DROPPED);
  }

  latencyMs(): number {
    return performance.now() - this.startedAt;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.dropped) controller.abort(DROPPED);
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    if (!this.dropped) this.request._upgraded(this, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (!this.dropped) this.request._responded(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.dropped) this.request._data(chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.dropped) this.request._ended(this, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.dropped) this.request._failed(this, error);
  }
}

export class BalancedRequest implements Dispatcher.DispatchController {
  readonly #host: RequestHost;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: ControllerHandler;
  readonly #mayResend: boolean;
  readonly #idempotent: boolean;
  /** The attempt carrying the request (the first one until a hedge wins). */
  #attempt: Attempt | undefined = undefined;
  /** The hedge racing the first attempt, if one was sent. */
  #hedge: Attempt | undefined = undefined;
  #hedging: HedgeController | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #retries = 0;
  #status = 0;
  /** A response head reached the caller: no more retries or hedges. */
  #answered = false;
  /** The caller heard the end (complete or failed). */
  #done = false;
  #reason: Error | null = null;
  #paused = false;

  constructor(
    host: RequestHost,
    opts: Dispatcher.DispatchOptions,
    handler: ControllerHandler,
    idempotent: boolean,
  ) {
    this.#host = host;
    this.#opts = opts;
    this.#handler = handler;
    this.#idempotent = idempotent;
    this.#mayResend = isReplayable(opts.body) && opts.upgrade == null && opts.method !== "CONNECT";
  }

  /**
   * Sends to the decision's backend; given an error instead (no ready
   * backend), fails the request with it.
   */
  start(decision: Decision | Error): void {
    this.#handler.onRequestStart(this, {});
    if (this.#reason !== null) {
      // The caller aborted from onRequestStart and has heard its reason.
      if (!(decision instanceof Error)) decision.finish({});
      return;
    }
    if (decision instanceof Error) {
      this.#fail(decision);
      return;
    }
    this.#host.attemptPolicy.requestStarted();
    const hedging = this.#host.balancer.hedging;
    if (hedging !== undefined && this.#mayResend && hedging.allows(decision.ctx)) {
      const delayMs = hedging.delayMs();
      if (delayMs !== undefined) {
        this.#hedging = hedging;
        this.#timer = setTimeout(onHedgeTimer, delayMs, this);
      }
    }
    this.#attempt = new Attempt(this, decision, false);
    this.#send(this.#attempt);
  }

  // The caller's controller.

  get aborted(): boolean {
    return this.#reason !== null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  get rawHeaders(): Dispatcher.DispatchController["rawHeaders"] {
    return this.#attempt?.controller?.rawHeaders;
  }

  get rawTrailers(): Dispatcher.DispatchController["rawTrailers"] {
    return this.#attempt?.controller?.rawTrailers;
  }

  pause(): void {
    this.#paused = true;
    this.#attempt?.controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#attempt?.controller?.resume();
  }

  /** The caller gives up: every attempt stops, and the caller hears `reason` at once. */
  abort(reason: Error): void {
    if (this.#reason !== null || this.#done) return;
    this.#reason = reason;
    this.#clearTimer();
    const hedge = this.#hedge;
    if (hedge !== undefined && !hedge.dropped) {
      hedge.drop();
      hedge.decision.finish({ error: HEDGE_CANCELLED });
    }
    const attempt = this.#attempt;
    if (attempt !== undefined && !attempt.dropped) {
      attempt.drop();
      attempt.decision.finish({});
    }
    this.#fail(reason);
  }

  // Attempt callbacks.

  /** @internal */
  _responded(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, message?: string): void {
    if (statusCode < 200) {
      // An informational head is no answer; pass it on only when no race is open.
      if (this.#hedge === undefined) this.#handler.onResponseStart(this, statusCode, headers, message);
      return;
    }
    if (!this.#answered) this.#win(attempt);
    this.#status = statusCode;
    this.#handler.onResponseStarted();
    this.#handler.onResponseStart(this, statusCode, headers, message);
  }

  /** @internal */
  _upgraded(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.#win(attempt);
    this.#done = true;
    attempt.decision.finish({ status: statusCode, latencyMs: attempt.latencyMs() });
    this.#handler.onRequestUpgrade(this, statusCode, headers, socket);
  }

  /** @internal */
  _data(chunk: Buffer): void {
    this.#handler.onResponseData(this, chunk);
  }

  /** @internal */
  _ended(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    this.#done = true;
    attempt.decision.finish({ status: this.#status, latencyMs: attempt.latencyMs() });
    this.#handler.onResponseEnd(this, trailers);
  }

  /** @internal */
  _failed(attempt: Attempt, error: Error): void {
    attempt.dropped = true;
    const failure = classifyAttemptError(error);
    attempt.decision.finish(failure.blame ? { error: failure.code, latencyMs: attempt.latencyMs() } : {});
    if (this.#answered || this.#reason !== null) {
      this.#fail(error);
      return;
    }
    const twin = attempt === this.#hedge ? this.#attempt : this.#hedge;
    if (twin !== undefined && !twin.dropped) {
      // The other attempt of the race carries on alone.
      this.#attempt = twin;
      return;
    }
    const retry =
      this.#mayResend && this.#host.attemptPolicy.allowsRetry(this.#retries, failure.retry, this.#idempotent);
    const backend: Backend | undefined = retry ? attempt.decision.next() : undefined;
    if (backend === undefined) {
      this.#fail(error);
      return;
    }
    this.#retries++;
    this.#host.attemptPolicy.retried();
    this.#attempt = new Attempt(this, attempt.decision, false);
    this.#send(this.#attempt);
  }

  /** @internal The hedge delay is up: hedge when no head has arrived and the budget allows. */
  _hedgeTimerFired(): void {
    this.#timer = undefined;
    const first = this.#attempt;
    const hedging = this.#hedging;
    if (first === undefined || hedging === undefined || this.#answered || first.dropped) return;
    if (first.isHedge || this.#reason !== null || !hedging.acquire()) return;
    const decision = first.decision.hedge();
    if (decision === undefined) return;
    this.#hedge = new Attempt(this, decision, true);
    this.#send(this.#hedge);
  }

  /** `attempt` answered first: it carries the request from here, its twin is cancelled. */
  #win(attempt: Attempt): void {
    this.#answered = true;
    this.#clearTimer();
    const hedge = this.#hedge;
    if (hedge !== undefined) {
      const loser = attempt === hedge ? this.#attempt : hedge;
      if (loser !== undefined && loser !== attempt && !loser.dropped) {
        loser.drop();
        loser.decision.finish({ error: HEDGE_CANCELLED });
      }
      this.#hedging?.settled(attempt === hedge);
    }
    this.#attempt = attempt;
    if (this.#paused) attempt.controller?.pause();
  }

  #send(attempt: Attempt): void {
    this.#host.pools.for(attempt.decision.backend).dispatch(this.#opts, attempt);
  }

  #fail(error: Error): void {
    this.#clearTimer();
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseError(this, error);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function onHedgeTimer(request: BalancedRequest): void {
  request._hedgeTimerFired();
}

/** Bodies that can be sent again: none, or bytes held in memory (streams are consumed by the first try). */
function isReplayable(body: Dispatcher.DispatchOptions["body"]): boolean {
  return body == null || typeof body === "string" || body instanceof Uint8Array;
}

/**
 * One proxied HTTP request. An `Exchange` is created per request by the
 * listener (http-proxy.ts) and is also the undici dispatch handler for its
 * upstream attempts, so a request costs one object plus its header list: it
 * checks the request, asks the balancer for a decision, streams the client's
 * body into a keep-alive undici Pool for the chosen backend, and writes the
 * response chunks straight to the ServerResponse with backpressure (undici's
 * parser pauses until the client drains), passing status, repeated headers and
 * trailers through. A failed attempt is classified (`classify`) and moves to
 * the decision's next candidate when that is safe (`Exchange.#mayRetry`) and
 * the listener's retry budget allows it; otherwise the client gets a coded
 * error: 502/503/504 for backend trouble, 500 SY_ERR_INTERNAL for an
 * unexpected exception while choosing a backend. A response whose status is
 * listed in `retryOn.statuses` counts as a failed attempt too (idempotent
 * requests only): its body is read and dropped (or the connection cut when it
 * is large) and the request goes to the next candidate; with no candidate or
 * budget left, it is forwarded as it is. The request body is kept for retries
 * up to the listener's `retryBufferBytes` (request-body.ts).
 * When the algorithm hedges (`balancer.hedging`), a request that may be sent
 * twice runs its first attempt through a `HedgeRace` (hedge.ts), which may
 * add a second attempt after the policy's delay and hands the exchange the
 * attempt that answers first; other requests never touch it.
 * The handler uses undici's raw dispatch callbacks (onConnect/onHeaders/
 * onData/onComplete/onError): undici calls them without a wrapper and hands
 * over raw header buffers, which become the `writeHead` list in one pass.
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { type ErrorCode, ErrorCodes, isSwitchyardError } from "../core/errors.js";
import type { Outcome } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import type { AccessLog } from "../observability/access-log.js";
import type { Logger } from "../observability/logger.js";
import { sendErrorResponse } from "./error-responses.js";
import {
  buildResponseHeaders,
  buildTrailers,
  buildUpstreamHeaders,
  clientAddress,
  type UpstreamRequestHead,
} from "./forwarded-headers.js";
import { HedgeRace, type RaceOwner } from "./hedge.js";
import { DEFAULT_HEAD_LIMITS, reduceAbsoluteForm } from "./http1/head-parser.js";
import type { UpstreamHandler } from "./http1/upstream-handler.js";
import type { ProxyCounters } from "./proxy-counters.js";
import { CLIENT_BODY_ABORTED, RequestBody } from "./request-body.js";
import type { RetryBudget } from "./retry-budget.js";
import { classify, type Failure, IDEMPOTENT_METHODS } from "./upstream-failures.js";
import type { UpstreamPools } from "./upstream-pools.js";

/** What an exchange needs from its listener (HttpProxy provides it). */
export interface ExchangeHost {
  readonly balancer: Balancer;
  readonly upstreams: UpstreamPools;
  /** Extra attempts on next candidates. */
  readonly maxRetries: number;
  /** Response statuses that send an idempotent request to the next candidate; undefined for none. */
  readonly retryStatuses: ReadonlySet<number> | undefined;
  /** Request bodies up to this many bytes are kept so a retry can resend them; 0 keeps none. */
  readonly retryBufferBytes: number;
  /** Limits retries to a share of requests; undefined for no limit. */
  readonly retryBudget: RetryBudget | undefined;
  readonly counters: ProxyCounters;
  readonly logger: Logger;
  /** Listener name, for the access log. */
  readonly name: string;
  /** One line per finished request, sampled; undefined when off. */
  readonly accessLog: AccessLog | undefined;
  /** True once the listener is shutting down. */
  readonly closing: boolean;
  /** Called once per exchange, when its client response closed. */
  _released(exchange: Exchange): void;
}

/** ServerResponse that knows its exchange, so shared listeners need no closure per request. */
export class ProxyResponse extends ServerResponse {
  exchange: Exchange | undefined = undefined;
}

function onResponseClose(this: ProxyResponse): void {
  this.exchange?.clientClosed();
}

function onResponseDrain(this: ProxyResponse): void {
  this.exchange?.clientDrained();
}

/** The abort reason the exchange gives undici when the client went away. */
const CLIENT_CLOSED = new Error("the client closed the connection");
/** The abort reason when a response dropped for a retry is too large to read to its end. */
const RESPONSE_DROPPED = new Error("the response was dropped for a retry");
/**
 * A response dropped for a retry is read to its end, so its connection can be
 * reused, while it stays under this size; a larger one is cut.
 */
const DROP_READ_LIMIT = 64 * 1024;

/**
 * One proxied request: context, decision, attempts, and the undici handler
 * that streams the response back. Lives until the client response closes,
 * which the host hears about through `_released()`.
 */
export class Exchange implements UpstreamHandler, RaceOwner {
  readonly #host: ExchangeHost;
  readonly #req: IncomingMessage;
  readonly #res: ProxyResponse;
  #head: UpstreamRequestHead | undefined;
  /** The target sent upstream: the client's, reduced to origin form. */
  #path: string;
  #decision: Decision | undefined;
  #body: RequestBody | undefined;
  #attempts = 0;
  #receivedAt = performance.now();
  /** The `SY_ERR_*` code when the proxy answered or cut the request itself. */
  #code: string | undefined;
  #startedAt = 0;
  #abort: ((error?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  /** Status of the response being relayed; 0 until its head arrived. */
  #status = 0;
  /** Bytes read of a response being dropped for a retry; -1 when none is. */
  #dropped = -1;
  /** The response is complete or was answered by the proxy. */
  #done = false;
  #clientGone = false;
  /** The hedge race the request is in, until an attempt carries it alone. */
  #race: HedgeRace | undefined = undefined;

  constructor(host: ExchangeHost, req: IncomingMessage, res: ProxyResponse) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    this.#path = req.url as string;
    res.exchange = this;
    res.on("close", onResponseClose);
  }

  /** The client connection the request came on. */
  get socket(): net.Socket {
    return this.#req.socket;
  }

  start(): void {
    const host = this.#host;
    const req = this.#req;
    host.counters.requests++;
    if (host.closing) {
      this.#reply(503, ErrorCodes.SHUTTING_DOWN, "the proxy is shutting down", true);
      return;
    }
    const socket = req.socket as net.Socket & { encrypted?: boolean };
    const clientIp = clientAddress(socket.remoteAddress);
    const head = buildUpstreamHeaders(req.rawHeaders, clientIp, socket.encrypted === true ? "https" : "http");
    this.#head = head;
    if (head.invalid !== undefined) {
      this.#reply(400, ErrorCodes.BAD_REQUEST, head.invalid, true);
      return;
    }
    if (!this.#checkHead(head)) return;
    const ctx: RequestContext = { clientIp, method: req.method, path: this.#path, headers: req.headers };
    try {
      this.#decision = host.balancer.select(ctx);
    } catch (error) {
      if (isSwitchyardError(error, ErrorCodes.NO_BACKEND)) {
        this.#reply(503, ErrorCodes.NO_BACKEND, "no ready backend", false);
      } else {
        host.logger.error(
          { err: error, code: ErrorCodes.INTERNAL, method: req.method, url: req.url },
          "backend selection failed",
        );
        this.#reply(500, ErrorCodes.INTERNAL, "backend selection failed", false);
      }
      return;
    }
    host.retryBudget?.recordRequest();
    if (head.hasBody) this.#body = new RequestBody(req, host.retryBufferBytes);
    const hedging = host.balancer.hedging;
    if (hedging === undefined || !this.#startRace(hedging, ctx)) this.#dispatch();
  }

  /**
   * What node's parser lets through but a proxy must refuse (answered with
   * the connection closed): HTTP/0.9, more than MAX_REQUEST_HEADERS fields
   * (node would silently drop the ones past its own count, framing
   * included), a target over MAX_TARGET_BYTES, a missing Host in HTTP/1.1,
   * and an absolute-form target naming another authority than Host (reduced
   * to origin form otherwise).
   */
  #checkHead(head: UpstreamRequestHead): boolean {
    const req = this.#req;
    const url = req.url as string;
    if (req.httpVersionMajor !== 1) {
      this.#reply(400, ErrorCodes.BAD_REQUEST, "only HTTP/1.0 and HTTP/1.1 requests are supported", true);
      return false;
    }
    if (req.rawHeaders.length > DEFAULT_HEAD_LIMITS.maxHeaders * 2) {
      this.#reply(431, ErrorCodes.HEADERS_TOO_LARGE, "too many header fields", true);
      return false;
    }
    if (url.length > DEFAULT_HEAD_LIMITS.maxTargetBytes) {
      this.#reply(414, ErrorCodes.URI_TOO_LONG, "the request target is too long", true);
      return false;
    }
    if (head.host === undefined && req.httpVersionMinor === 1) {
      this.#reply(400, ErrorCodes.BAD_REQUEST, "an HTTP/1.1 request needs a Host header", true);
      return false;
    }
    if (url.charCodeAt(0) !== 47 /* / */ && url !== "*") {
      try {
        this.#path = reduceAbsoluteForm(url, head.host).path;
      } catch (error) {
        this.#reply(400, ErrorCodes.BAD_REQUEST, (error as Error).message, true);
        return false;
      }
    }
    return true;
  }

  /** The client response closed: finished normally, or the client went away. */
  clientClosed(): void {
    this.#host._released(this);
    const log = this.#host.accessLog;
    if (log?.take()) {
      log.write({
        listener: this.#host.name,
        method: this.#req.method,
        path: this.#req.url,
        status: this.#res.headersSent ? this.#res.statusCode : 0,
        latencyMs: performance.now() - this.#receivedAt,
        backend: this.#decision?.backend.id,
        attempts: this.#attempts,
        algorithm: this.#decision?.algorithm,
        code: this.#code,
        clientIp: this.#req.socket.remoteAddress,
      });
    }
    if (this.#done) return;
    this.#clientGone = true;
    const race = this.#race;
    if (race !== undefined) {
      this.#race = undefined;
      this.#done = true;
      race.cancel();
      return;
    }
    const abort = this.#abort;
    if (abort !== undefined) {
      this.#abort = undefined;
      abort(CLIENT_CLOSED);
    }
    // Not connected yet: onConnect aborts the attempt when undici gets to it.
  }

  /** The client caught up: let undici read the upstream again. */
  clientDrained(): void {
    this.#resume?.();
  }

  // undici dispatch handler ------------------------------------------------

  onConnect(abort: (error?: Error) => void): void {
    if (this.#clientGone) abort(CLIENT_CLOSED);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    // Informational responses (103 Early Hints...) are not relayed.
    if (statusCode < 200) return true;
    if (this.#host.retryStatuses?.has(statusCode) === true && this.#retryOnStatus(statusCode)) {
      this.#dropped = 0;
      return true;
    }
    const res = this.#res;
    if (this.#host.closing) res.shouldKeepAlive = false;
    const headers = buildResponseHeaders(rawHeaders);
    // Session affinity: the (re)issued cookie rides beside the backend's own Set-Cookie lines.
    const affinityCookie = this.#decision && this.#host.balancer.affinityCookie(this.#decision);
    if (affinityCookie !== undefined) headers.push("Set-Cookie", affinityCookie);
    if (statusText) res.writeHead(statusCode, statusText, headers);
    else res.writeHead(statusCode, headers);
    this.#host.counters.response(statusCode);
    this.#status = statusCode;
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#dropped >= 0) {
      this.#dropped += chunk.length;
      if (this.#dropped <= DROP_READ_LIMIT) return true;
      const abort = this.#abort;
      this.#abort = undefined;
      abort?.(RESPONSE_DROPPED);
      return false;
    }
    const res = this.#res;
    if (res.write(chunk)) return true;
    if (this.#clientGone) return false;
    res.once("drain", onResponseDrain);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    this.#abort = undefined;
    if (this.#dropped >= 0) {
      // The dropped response was read to its end: its connection is free, the next attempt open.
      this.#dropped = -1;
      this.#sendRetry();
      return;
    }
    this.#done = true;
    const res = this.#res;
    // An early answer (413, 403...): the rest of the upload is read and dropped.
    if (this.#body !== undefined && !this.#req.complete) this.#body.discard();
    if (trailers !== null && trailers.length > 0) res.addTrailers(buildTrailers(trailers));
    res.end();
    this.#finish({ status: this.#status, latencyMs: performance.now() - this.#startedAt });
  }

  onError(error: Error): void {
    this.#abort = undefined;
    if (this.#done) return;
    if (error === CLIENT_CLOSED || error === CLIENT_BODY_ABORTED || this.#clientGone) {
      // Our own abort, or the client left first (or cut its upload): not the backend's fault.
      this.#done = true;
      this.#finish(this.#status !== 0 ? { status: this.#status } : {});
      if (error === CLIENT_BODY_ABORTED) this.#res.destroy();
      return;
    }
    if (this.#dropped >= 0) {
      // The dropped response was cut (by us, or it broke): its attempt is reported, the next one
      // open. undici is still unwinding this connection, so the retry waits a turn.
      this.#dropped = -1;
      setImmediate(() => this.#sendRetry());
      return;
    }
    const failure = classify(error);
    const decision = this.#decision as Decision;
    const latencyMs = performance.now() - this.#startedAt;
    this.#finish(failure.blame ? { error: failure.code, latencyMs } : {});
    const log = this.#host.logger;
    if (this.#status !== 0) {
      // The response head is out: the only honest signal left is a cut connection.
      this.#done = true;
      this.#code = failure.code;
      this.#host.counters.error(failure.code);
      log.warn({ backend: decision.backend.id, err: error }, "upstream failed mid-response");
      this.#res.destroy();
      return;
    }
    if (this.#mayRetry(failure.retry) && this.#budgetAllows()) {
      const next = decision.next();
      if (next !== undefined) {
        this.#countRetry();
        log.debug(
          { backend: decision.attempts.at(-2)?.id, next: next.id, err: error, attempt: this.#attempts },
          "retrying on the next candidate",
        );
        this.#dispatch();
        return;
      }
    }
    log.warn(
      { backend: decision.backend.id, method: this.#req.method, url: this.#req.url, err: error },
      "upstream attempt failed",
    );
    this.#reply(failure.status, failure.code, failure.message, false);
  }

  // hedge race (RaceOwner) -------------------------------------------------

  /** @internal */
  _mayHedge(): boolean {
    if (this.#clientGone || this.#host.closing) return false;
    return this.#body === undefined || this.#body.whole() !== undefined;
  }

  /** @internal */
  _send(backend: Backend, handler: UpstreamHandler, hedge: boolean): void {
    const req = this.#req;
    const body = this.#body;
    this.#attempts++;
    this.#host.upstreams.dispatch(
      backend,
      {
        path: this.#path,
        method: req.method as string,
        headers: (this.#head as UpstreamRequestHead).headers,
        body: body === undefined ? null : hedge ? (body.whole() as Buffer) : body.forAttempt(),
      },
      handler,
    );
  }

  /** @internal */
  _adopt(decision: Decision, startedAt: number, abort: ((error?: Error) => void) | undefined): void {
    this.#race = undefined;
    this.#decision = decision;
    this.#startedAt = startedAt;
    this.#abort = abort;
  }

  // ------------------------------------------------------------------------

  /**
   * Runs the first attempt in a hedge race when the policy allows this
   * request, gives a delay now, and the body can be kept whole; false
   * dispatches it plainly.
   */
  #startRace(hedging: HedgeController, ctx: RequestContext): boolean {
    if (!hedging.allows(ctx) || (this.#body !== undefined && !this.#body.keepable)) return false;
    const delayMs = hedging.delayMs();
    if (delayMs === undefined) return false;
    const race = new HedgeRace(this, this.#host, hedging, this.#decision as Decision, delayMs);
    this.#race = race;
    race.start();
    return true;
  }

  #dispatch(): void {
    this.#startedAt = performance.now();
    this._send((this.#decision as Decision).backend, this, false);
  }

  /**
   * The response has one of the `retryOn` statuses. When the request may go
   * to another backend (idempotent, attempts and budget left, body
   * replayable), reports this attempt with its status, opens the next one and
   * returns true: the response is then dropped. False forwards it as it is.
   */
  #retryOnStatus(status: number): boolean {
    if (!this.#mayRetry("idempotent") || !this.#budgetAllows()) return false;
    const decision = this.#decision as Decision;
    const failed = decision.backend;
    decision.finish({ status, latencyMs: performance.now() - this.#startedAt });
    const next = decision.next();
    if (next === undefined) return false;
    this.#countRetry();
    this.#host.logger.debug(
      { backend: failed.id, next: next.id, status, attempt: this.#attempts },
      "retrying on the next candidate after a retryOn status",
    );
    return true;
  }

  /** Sends the attempt opened for a dropped response, unless the client left meanwhile. */
  #sendRetry(): void {
    if (this.#clientGone) {
      this.#done = true;
      this.#finish({});
      return;
    }
    this.#dispatch();
  }

  /**
   * A failed attempt may go to the next candidate when attempts remain, the
   * client's body can be sent again (nothing of it read yet, or all of it
   * kept), and either the request never reached the backend or its method is
   * idempotent.
   */
  #mayRetry(retry: Failure["retry"]): boolean {
    if (retry === "never" || this.#attempts > this.#host.maxRetries) return false;
    if (this.#body !== undefined && !this.#body.replayable) return false;
    return retry === "always" || IDEMPOTENT_METHODS.has(this.#req.method as string);
  }

  /** Whether the retry budget has room; a refusal is counted. */
  #budgetAllows(): boolean {
    const budget = this.#host.retryBudget;
    if (budget === undefined || budget.allows()) return true;
    this.#host.counters.retryBudgetExhausted++;
    return false;
  }

  #countRetry(): void {
    this.#host.retryBudget?.recordRetry();
    this.#host.counters.retries++;
  }

  #finish(outcome: Outcome): void {
    this.#decision?.finish(outcome);
  }

  /** Answers the client with a proxy error (JSON body, `x-switchyard-error`). */
  #reply(status: number, code: ErrorCode, message: string, close: boolean): void {
    this.#done = true;
    this.#code = code;
    const res = this.#res;
    this.#host.counters.error(code);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread request body would have to be drained first; close instead.
    if (close || this.#host.closing || (this.#head?.hasBody === true && !this.#req.complete)) {
      res.shouldKeepAlive = false;
    }
    this.#host.counters.response(status);
    sendErrorResponse(res, status, code, message);
  }
}

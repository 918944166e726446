/**
 * One proxied HTTP request. An `Exchange` is created per request by the
 * listener (http-proxy.ts) for the client connection (HTTP/1.1) or stream
 * (HTTP/2) it came on, through the interfaces of client-side.ts, and is
 * also the handler of its upstream attempts, so a request costs one object
 * plus its header list: it asks the balancer for a decision, streams the
 * client's body to a keep-alive connection to the chosen backend
 * (upstream-pools.ts), and writes the response chunks straight to the client
 * connection with backpressure (the backend socket pauses until the client
 * drains), passing status, repeated headers and trailers through. A failed
 * attempt is classified (`classify`) and moves to the decision's next
 * candidate when that is safe (`Exchange.#mayRetry`) and the listener's retry
 * budget allows it; otherwise the client gets a coded error: 502/503/504 for
 * backend trouble, 500 SY_ERR_INTERNAL for an unexpected exception while
 * choosing a backend; 429 SY_ERR_RATE_LIMITED, before any backend is chosen,
 * when the route's rate limit refuses the request. A gRPC client gets those
 * errors as gRPC statuses (error-responses.ts), and a gRPC response that
 * fails after its head ends with a failed status in its trailers rather than
 * a reset. A response whose status is listed in
 * `retryOn.statuses` counts as a failed attempt too (idempotent requests
 * only): its body is read and dropped (or the connection cut when it is
 * large) and the request goes to the next candidate; with no candidate or
 * budget left, it is forwarded as it is. The request body is kept for retries
 * up to the listener's `retryBufferBytes` (request-body.ts).
 * When the algorithm hedges (`balancer.hedging`), a request that may be sent
 * twice runs its first attempt through a `HedgeRace` (hedge.ts), which may
 * add a second attempt after the policy's delay and hands the exchange the
 * attempt that answers first; other requests never touch it.
 * A gRPC call that carries `grpc-timeout` has a deadline for the whole call,
 * retries and hedges included (src/http1/grpc-timeout.ts): each attempt tells its
 * backend the time left, and once it passes the attempt is cancelled and
 * the client gets DEADLINE_EXCEEDED (in the trailers when the head is out).
 *
 * Over 400 lines because the attempt loop (pick, send, classify the outcome,
 * retry or answer) is one decision read top to bottom; its parts that stand
 * alone already live apart (hedge.ts, request-body.ts, upstream-failures.ts).
 */
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import { now } from "../core/clock.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { MAX_TIMER_MS } from "../core/duration.js";
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import type { Outcome } from "../core/outcome.js";
import type { HedgeController } from "../core/selector.js";
import { takeGrpcTimeout } from "../http1/grpc-timeout.js";
import { isNamed } from "../http1/header-names.js";
import { UpstreamError, UpstreamErrorCodes, type UpstreamHandler } from "../http1/upstream-handler.js";
import type { AccessLog } from "../observability/access-log.js";
import type { Logger } from "../observability/logger.js";
import {
  CLIENT_BODY_ABORTED,
  type ProxyRequest,
  type ResponseOwner,
  type ResponseWriter,
} from "./client-side.js";
import { grpcErrorFields, type ProxyError, proxyError, sendErrorResponse } from "./error-responses.js";
import { buildResponseHeaders, buildUpstreamHeaders, type UpstreamRequestHead } from "./forwarded-headers.js";
import { GrpcStatus, grpcKind } from "./grpc-status.js";
import { HedgeRace, type RaceOwner } from "./hedge.js";
import { type HeaderObject, headerObject } from "./http1/client-request.js";
import type { ProxyCounters } from "./proxy-counters.js";
import { RequestBody } from "./request-body.js";
import type { Route } from "./routes/route.js";
import { classify, type Failure, IDEMPOTENT_METHODS } from "./upstream-failures.js";
import type { UpstreamPools } from "./upstream-pools.js";

/** What an exchange needs from its listener (HttpProxy provides it). */
export interface ExchangeHost {
  /** Request bodies up to this many bytes are kept so a retry can resend them; 0 keeps none. */
  readonly retryBufferBytes: number;
  /** When a failed attempt may go to the next candidate (the listener's retries and budget). */
  readonly attemptPolicy: AttemptPolicy;
  readonly counters: ProxyCounters;
  readonly logger: Logger;
  /** Listener name, for the access log. */
  readonly name: string;
  /** One line per finished request, sampled; undefined when off. */
  readonly accessLog: AccessLog | undefined;
  /** True once the listener is shutting down. */
  readonly closing: boolean;
  /** Called once per exchange, when its response ended or its client left. */
  _released(): void;
}

/** The abort reason the exchange gives its attempt when the client went away. */
const CLIENT_CLOSED = new Error("the client closed the connection");
/** The abort reason the exchange gives its attempt when the gRPC call's deadline passed. */
const DEADLINE_REACHED = new Error("the call's deadline passed");
/** The abort reason when a response dropped for a retry is too large to read to its end. */
const RESPONSE_DROPPED = new Error("the response was dropped for a retry");
/**
 * A response dropped for a retry is read to its end, so its connection can be
 * reused, while it stays under this size; a larger one is cut.
 */
const DROP_READ_LIMIT = 64 * 1024;

const SHUTTING_DOWN = proxyError(ErrorCodes.SHUTTING_DOWN);
const RATE_LIMITED = proxyError(ErrorCodes.RATE_LIMITED);
const NO_BACKEND = proxyError(ErrorCodes.NO_BACKEND);
const DEADLINE_PASSED: ProxyError = {
  ...proxyError(ErrorCodes.DEADLINE_EXCEEDED),
  grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
};
const SELECTION_FAILED = proxyError(ErrorCodes.INTERNAL, "backend selection failed");

/**
 * One proxied request: context, decision, attempts, and the upstream handler
 * that streams the response back. Lives until the response ended or the
 * client left, which the host hears about through `_released()`.
 */
export class Exchange implements UpstreamHandler, RaceOwner, ResponseOwner {
  readonly #host: ExchangeHost;
  /** The route that took the request: pool, retries, rewrites. */
  readonly #route: Route;
  readonly #balancer: Balancer;
  readonly #upstreams: UpstreamPools;
  readonly #req: ProxyRequest;
  readonly #res: ResponseWriter;
  #head: UpstreamRequestHead | undefined;
  #decision: Decision | undefined;
  #body: RequestBody | undefined;
  #attempts = 0;
  #receivedAt = now();
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
  /** The request was sent again after a stale kept-alive connection (once per request). */
  #staleResent = false;
  /** The hedge race the request is in, until an attempt carries it alone. */
  #race: HedgeRace | undefined = undefined;
  /** Rate-limit quota fields for the response, when the route's limit sends them on admitted requests. */
  #quota: string[] | undefined = undefined;
  /** A gRPC call's deadline (`now()` time), from its `grpc-timeout`; undefined when none. */
  #deadline: number | undefined = undefined;
  #deadlineTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    host: ExchangeHost,
    route: Route,
    upstreams: UpstreamPools,
    req: ProxyRequest,
    res: ResponseWriter,
  ) {
    this.#host = host;
    this.#route = route;
    this.#balancer = route.balancer as Balancer;
    this.#upstreams = upstreams;
    this.#req = req;
    this.#res = res;
  }

  start(): void {
    const host = this.#host;
    const req = this.#req;
    host.counters.requests++;
    if (host.closing) {
      this.#reply(SHUTTING_DOWN, true);
      return;
    }
    const clientIp = unmapIpv4(req.socket.remoteAddress);
    const refused = this.#route.refusal(clientIp, req);
    if (refused !== undefined) {
      this.#reply(RATE_LIMITED, false, refused);
      return;
    }
    const limit = this.#route.rateLimit;
    if (limit?.headers) this.#quota = limit.quotaHeaders();
    const proto = req.socket.encrypted === true ? "https" : "http";
    const head = buildUpstreamHeaders(req.rawHeaders, clientIp, proto);
    this.#route.editRequest(head.headers);
    this.#head = head;
    if (mayBeGrpc(req) && grpcKind(req.headers) !== undefined && !this.#startDeadline(head.headers)) return;
    const ctx = new ExchangeContext(req, clientIp, this.#route.name);
    try {
      this.#decision = this.#balancer.select(ctx);
    } catch (error) {
      if (isSwitchyardError(error, ErrorCodes.NO_BACKEND)) {
        this.#reply(NO_BACKEND, false);
      } else {
        host.logger.error(
          { err: error, code: ErrorCodes.INTERNAL, method: req.method, url: req.url },
          "backend selection failed",
        );
        this.#reply(SELECTION_FAILED, false);
      }
      return;
    }
    host.attemptPolicy.requestStarted();
    if (req.body !== undefined) this.#body = new RequestBody(req, host.retryBufferBytes);
    const hedging = this.#balancer.hedging;
    if (hedging === undefined || !this.#startRace(hedging, ctx)) this.#dispatch();
  }

  /** The response ended, or the client went away. */
  clientClosed(): void {
    if (this.#deadlineTimer !== undefined) {
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    this.#host._released();
    const log = this.#host.accessLog;
    if (log?.take()) {
      log.write({
        listener: this.#host.name,
        route: this.#route.name,
        protocol: this.#req.protocol,
        method: this.#req.method,
        path: this.#req.url,
        status: this.#res.status,
        latencyMs: now() - this.#receivedAt,
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
    // Not connected yet: onConnect aborts the attempt when it gets a connection.
  }

  /** The client caught up: read the backend again. */
  clientDrained(): void {
    this.#resume?.();
  }

  // upstream handler -------------------------------------------------------

  onConnect(abort: (error?: Error) => void): void {
    if (this.#clientGone) abort(CLIENT_CLOSED);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    // Informational responses (103 Early Hints...) are not relayed.
    if (statusCode < 200) return true;
    if (this.#route.retryStatuses?.has(statusCode) === true && this.#retryOnStatus(statusCode)) {
      this.#dropped = 0;
      return true;
    }
    const headers = buildResponseHeaders(rawHeaders);
    this.#route.editResponse(headers);
    // Session affinity: the (re)issued cookie rides beside the backend's own Set-Cookie lines.
    const affinityCookie = this.#decision?.session?.cookie(this.#decision.backend);
    if (affinityCookie !== undefined) headers.push("Set-Cookie", affinityCookie);
    if (this.#quota !== undefined) headers.push(...this.#quota);
    this.#res.writeHead(statusCode, statusText, headers);
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
    // False pauses the backend until clientDrained.
    return this.#res.write(chunk);
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
    this.#res.end(trailers === null ? null : buildResponseHeaders(trailers));
    this.#finish({ status: this.#status, latencyMs: now() - this.#startedAt });
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
      // open. Its connection is still unwinding, so the retry waits a turn.
      this.#dropped = -1;
      setImmediate(() => this.#sendRetry());
      return;
    }
    if (error instanceof UpstreamError && error.code === UpstreamErrorCodes.STALE && this.#mayResendStale()) {
      // The keep-alive race: the same backend again, on another connection, and not held against it.
      this.#staleResent = true;
      this.#host.logger.debug(
        { backend: this.#decision?.backend.id },
        "resending on another connection: the backend closed the kept-alive one",
      );
      this.#dispatch();
      return;
    }
    const failure = classify(error);
    const decision = this.#decision as Decision;
    const latencyMs = now() - this.#startedAt;
    this.#finish(failure.blame ? { error: failure.code, latencyMs } : {});
    const log = this.#host.logger;
    if (this.#status !== 0) {
      this.#done = true;
      log.warn({ backend: decision.backend.id, err: error }, "upstream failed mid-response");
      this.#cut(failure);
      return;
    }
    if (this.#mayRetry(failure.retry)) {
      const next = decision.next();
      if (next !== undefined) {
        this.#host.attemptPolicy.retried();
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
    this.#reply(failure, false);
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
    this.#upstreams.dispatch(
      backend,
      {
        path: this.#route.upstreamPath(req.url),
        method: req.method,
        headers: (this.#head as UpstreamRequestHead).headers,
        body: body === undefined ? null : hedge ? (body.whole() as Buffer) : body.forAttempt(),
        trailers: req,
        headersTimeoutMs: this.#route.headersTimeoutMs,
        deadline: this.#deadline,
        resendable: this.#mayResendStale(),
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

  /**
   * @internal The call's deadline passed before its response ended: the
   * attempts are cancelled (an HTTP/2 backend gets RST_STREAM CANCEL) without
   * holding it against the backend, whose client chose the deadline, and the
   * client gets DEADLINE_EXCEEDED.
   */
  _deadlinePassed(): void {
    this.#deadlineTimer = undefined;
    if (this.#done) return;
    this.#done = true;
    const race = this.#race;
    this.#race = undefined;
    if (race !== undefined) {
      race.cancel();
    } else {
      const abort = this.#abort;
      this.#abort = undefined;
      abort?.(DEADLINE_REACHED);
      this.#finish(this.#status !== 0 ? { status: this.#status } : {});
    }
    this.#host.logger.debug(
      { backend: this.#decision?.backend.id, method: this.#req.method, url: this.#req.url },
      "the call's deadline passed",
    );
    if (this.#status === 0) this.#reply(DEADLINE_PASSED, false);
    else this.#cut(DEADLINE_PASSED);
  }

  // ------------------------------------------------------------------------

  /**
   * A gRPC call's `grpc-timeout` (taken out of the upstream `headers`; each
   * attempt sends the time left) becomes its deadline, counted from its head's
   * arrival: one timer for the whole call, retries and hedges included. False
   * when it has passed already, and the call is answered.
   */
  #startDeadline(headers: string[]): boolean {
    const timeoutMs = takeGrpcTimeout(headers);
    if (timeoutMs === undefined) return true;
    const deadline = this.#receivedAt + timeoutMs;
    const leftMs = deadline - now();
    if (leftMs <= 0) {
      this.#reply(DEADLINE_PASSED, false);
      return false;
    }
    this.#deadline = deadline;
    // A later deadline is passed on to the backend but not timed here.
    if (leftMs <= MAX_TIMER_MS) this.#deadlineTimer = setTimeout(onDeadline, leftMs, this);
    return true;
  }

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
    this.#startedAt = now();
    this._send((this.#decision as Decision).backend, this, false);
  }

  /**
   * The response has one of the `retryOn` statuses. When the request may go
   * to another backend (idempotent, attempts and budget left, body
   * replayable), reports this attempt with its status, opens the next one and
   * returns true: the response is then dropped. False forwards it as it is.
   */
  #retryOnStatus(status: number): boolean {
    if (!this.#mayRetry("idempotent")) return false;
    const decision = this.#decision as Decision;
    const failed = decision.backend;
    decision.finish({ status, latencyMs: now() - this.#startedAt });
    const next = decision.next();
    if (next === undefined) return false;
    this.#host.attemptPolicy.retried();
    this.#host.logger.debug(
      { backend: failed.id, next: next.id, status, attempt: this.#attempts },
      "retrying on the next candidate after a retryOn status",
    );
    return true;
  }

  /** Sends the attempt opened for a dropped response, unless the client left or the deadline passed meanwhile. */
  #sendRetry(): void {
    if (this.#done) return;
    if (this.#clientGone) {
      this.#done = true;
      this.#finish({});
      return;
    }
    this.#dispatch();
  }

  /**
   * A failed attempt may go to the next candidate when the client's body can
   * be sent again (nothing of it read yet, or all of it kept) and the
   * listener's attempt policy allows it, with the route's retry limit.
   */
  #mayRetry(retry: Failure["retry"]): boolean {
    if (this.#body !== undefined && !this.#body.replayable) return false;
    const idempotent = IDEMPOTENT_METHODS.has(this.#req.method);
    return this.#host.attemptPolicy.allowsRetry(
      this.#attempts - 1,
      retry,
      idempotent,
      this.#route.maxRetries,
    );
  }

  /**
   * Once per request, and only what may be sent twice: an idempotent method
   * whose body (if any) can be sent again, before any of a response came.
   */
  #mayResendStale(): boolean {
    if (this.#staleResent || this.#status !== 0 || this.#race !== undefined) return false;
    if (this.#body !== undefined && !this.#body.replayable) return false;
    return IDEMPOTENT_METHODS.has(this.#req.method);
  }

  #finish(outcome: Outcome): void {
    this.#decision?.finish(outcome);
  }

  /**
   * Ends a response whose head is out with `error`: a gRPC call with a failed
   * status in its trailers; anything else can only be cut.
   */
  #cut(error: ProxyError): void {
    this.#code = error.code;
    this.#host.counters.error(error.code);
    const res = this.#res;
    if (this.#status === 200 && res.endsWithTrailers && grpcKind(this.#req.headers) === "grpc")
      res.end(grpcErrorFields(error));
    else res.destroy();
  }

  /** Answers the client with a proxy error (error-responses.ts), `headers` besides. */
  #reply(error: ProxyError, close: boolean, headers?: string[]): void {
    this.#done = true;
    this.#code = error.code;
    const res = this.#res;
    this.#host.counters.error(error.code);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread request body would have to be drained first; close instead.
    if (close || !this.#req.complete) res.closeAfterResponse();
    this.#host.counters.response(sendErrorResponse(res, this.#req, error, headers));
  }
}

/**
 * The balancer's view of a request. Its header object is built only when a
 * selector reads it (hashing, affinity, geo): most never do, and building it
 * costs a pass over the fields. It keeps the raw list, not the request: the
 * explain ring holds on to the last decisions, and their contexts with them.
 */
class ExchangeContext implements RequestContext {
  readonly clientIp: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly route: string;
  readonly #rawHeaders: readonly string[];
  #headers: HeaderObject | undefined = undefined;

  constructor(req: ProxyRequest, clientIp: string | undefined, route: string) {
    this.clientIp = clientIp;
    this.method = req.method;
    this.path = req.url;
    this.route = route;
    this.#rawHeaders = req.rawHeaders;
  }

  get headers(): HeaderObject {
    this.#headers ??= headerObject(this.#rawHeaders);
    return this.#headers;
  }
}

/** A request without a Content-Type field is no gRPC call: its header object need not be built to tell. */
function mayBeGrpc(req: ProxyRequest): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (isNamed(name, "content-type")) return true;
  }
  return false;
}

function onDeadline(exchange: Exchange): void {
  exchange._deadlinePassed();
}

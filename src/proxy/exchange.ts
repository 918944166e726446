/**
 * One proxied HTTP request. An `Exchange` is created per request by the
 * listener (http-proxy.ts) and is also the undici dispatch handler for its
 * upstream attempts, so a request costs one object plus its header list: it
 * checks the request, asks the balancer for a decision, streams the client's
 * body into a keep-alive undici Pool for the chosen backend, and writes the
 * response chunks straight to the ServerResponse with backpressure (undici's
 * parser pauses until the client drains), passing status, repeated headers and
 * trailers through. A failed attempt is classified (`classify`) and moves to
 * the decision's next candidate when that is safe (`Exchange.#mayRetry`);
 * otherwise the client gets a coded error: 502/503/504 for backend trouble,
 * 500 SY_ERR_INTERNAL for an unexpected exception while choosing a backend.
 * The handler uses undici's raw dispatch callbacks (onConnect/onHeaders/
 * onData/onComplete/onError): undici calls them without a wrapper and hands
 * over raw header buffers, which become the `writeHead` list in one pass.
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Dispatcher } from "undici";
import type { Balancer } from "../core/balancer.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { type ErrorCode, ErrorCodes, isSwitchyardError } from "../core/errors.js";
import type { Outcome } from "../core/selector.js";
import type { Logger } from "../observability/logger.js";
import { sendErrorResponse } from "./error-responses.js";
import {
  buildResponseHeaders,
  buildTrailers,
  buildUpstreamHeaders,
  clientAddress,
  type UpstreamRequestHead,
} from "./forwarded-headers.js";
import type { UpstreamPools } from "./upstream-pools.js";

/** What an exchange needs from its listener (HttpProxy provides it). */
export interface ExchangeHost {
  readonly balancer: Balancer;
  readonly upstreams: UpstreamPools;
  /** Extra attempts on next candidates. */
  readonly maxRetries: number;
  readonly logger: Logger;
  /** True once the listener is shutting down. */
  readonly closing: boolean;
  /** Called once per exchange, when its client response closed. */
  _released(): void;
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

/** Methods RFC 9110 §9.2.2 calls idempotent: safe to send again after a reset. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Why an attempt failed, and what that allows. */
interface Failure {
  status: number;
  code: ErrorCode;
  message: string;
  /** `always`: the request provably never reached the backend; `idempotent`: retry idempotent methods only. */
  retry: "always" | "idempotent" | "never";
  /** Whether the failure is held against the backend in the outcome. */
  blame: boolean;
}

const CONNECT_FAILED: Failure = {
  status: 502,
  code: ErrorCodes.UPSTREAM_CONNECT,
  message: "could not connect to a backend",
  retry: "always",
  blame: true,
};
const CONNECT_TIMED_OUT: Failure = {
  status: 504,
  code: ErrorCodes.UPSTREAM_TIMEOUT,
  message: "connecting to the backend timed out",
  retry: "always",
  blame: true,
};
const RESPONSE_TIMED_OUT: Failure = {
  status: 504,
  code: ErrorCodes.UPSTREAM_TIMEOUT,
  message: "the backend did not answer in time",
  retry: "never",
  blame: true,
};
const UPSTREAM_RESET: Failure = {
  status: 502,
  code: ErrorCodes.UPSTREAM_RESET,
  message: "the backend closed the connection without a complete response",
  retry: "idempotent",
  blame: true,
};
const REQUEST_REFUSED: Failure = {
  status: 400,
  code: ErrorCodes.BAD_REQUEST,
  message: "the request cannot be forwarded",
  retry: "never",
  blame: false,
};

function classify(error: Error & { code?: string }): Failure {
  switch (error.code) {
    case "ECONNREFUSED":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return CONNECT_FAILED;
    case "UND_ERR_CONNECT_TIMEOUT":
      return CONNECT_TIMED_OUT;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return RESPONSE_TIMED_OUT;
    case "UND_ERR_INVALID_ARG":
    case "UND_ERR_NOT_SUPPORTED":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return REQUEST_REFUSED;
    default:
      return UPSTREAM_RESET;
  }
}

/** The abort reason the exchange gives undici when the client went away. */
const CLIENT_CLOSED = new Error("the client closed the connection");

/**
 * One proxied request: context, decision, attempts, and the undici handler
 * that streams the response back. Lives until the client response closes,
 * which the host hears about through `_released()`.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly #host: ExchangeHost;
  readonly #req: IncomingMessage;
  readonly #res: ProxyResponse;
  #head: UpstreamRequestHead | undefined;
  #decision: Decision | undefined;
  #attempts = 0;
  #startedAt = 0;
  #abort: ((error?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  /** Status of the response being relayed; 0 until its head arrived. */
  #status = 0;
  /** The response is complete or was answered by the proxy. */
  #done = false;
  #clientGone = false;

  constructor(host: ExchangeHost, req: IncomingMessage, res: ProxyResponse) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    res.exchange = this;
    res.on("close", onResponseClose);
  }

  start(): void {
    const host = this.#host;
    const req = this.#req;
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
    if (head.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      this.#reply(400, ErrorCodes.BAD_REQUEST, "an HTTP/1.1 request needs a Host header", true);
      return;
    }
    const ctx: RequestContext = { clientIp, method: req.method, path: req.url, headers: req.headers };
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
    this.#dispatch();
  }

  /** The client response closed: finished normally, or the client went away. */
  clientClosed(): void {
    this.#host._released();
    if (this.#done) return;
    this.#clientGone = true;
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

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // Informational responses (103 Early Hints...) are not relayed.
    if (statusCode < 200) return true;
    const res = this.#res;
    if (this.#host.closing) res.shouldKeepAlive = false;
    const headers = buildResponseHeaders(rawHeaders);
    if (statusText) res.writeHead(statusCode, statusText, headers);
    else res.writeHead(statusCode, headers);
    this.#status = statusCode;
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.#res;
    if (res.write(chunk)) return true;
    if (this.#clientGone) return false;
    res.once("drain", onResponseDrain);
    return false;
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    this.#abort = undefined;
    this.#done = true;
    const res = this.#res;
    if (trailers !== null && trailers.length > 0) res.addTrailers(buildTrailers(trailers));
    res.end();
    this.#finish({ status: this.#status, latencyMs: performance.now() - this.#startedAt });
  }

  onError(error: Error): void {
    this.#abort = undefined;
    if (this.#done) return;
    if (error === CLIENT_CLOSED || this.#clientGone) {
      // Our own abort (or the client left first): not the backend's fault.
      this.#done = true;
      this.#finish(this.#status !== 0 ? { status: this.#status } : {});
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
      log.warn({ backend: decision.backend.id, err: error }, "upstream failed mid-response");
      this.#res.destroy();
      return;
    }
    if (this.#mayRetry(failure)) {
      const next = decision.next();
      if (next !== undefined) {
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

  // ------------------------------------------------------------------------

  #dispatch(): void {
    const req = this.#req;
    const head = this.#head as UpstreamRequestHead;
    const backend = (this.#decision as Decision).backend;
    this.#attempts++;
    this.#startedAt = performance.now();
    this.#host.upstreams.get(backend).dispatch(
      {
        path: req.url as string,
        method: req.method as Dispatcher.HttpMethod,
        headers: head.headers,
        body: head.hasBody ? req : null,
      },
      this,
    );
  }

  /**
   * A failed attempt may go to the next candidate when attempts remain, the
   * client's body was not (even partly) sent, and either the request never
   * reached the backend or its method is idempotent.
   */
  #mayRetry(failure: Failure): boolean {
    if (failure.retry === "never" || this.#attempts > this.#host.maxRetries) return false;
    if ((this.#head as UpstreamRequestHead).hasBody && this.#req.readableDidRead) return false;
    return failure.retry === "always" || IDEMPOTENT_METHODS.has(this.#req.method as string);
  }

  #finish(outcome: Outcome): void {
    this.#decision?.finish(outcome);
  }

  /** Answers the client with a proxy error (JSON body, `x-switchyard-error`). */
  #reply(status: number, code: ErrorCode, message: string, close: boolean): void {
    this.#done = true;
    const res = this.#res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread request body would have to be drained first; close instead.
    if (close || this.#host.closing || (this.#head?.hasBody === true && !this.#req.complete)) {
      res.shouldKeepAlive = false;
    }
    sendErrorResponse(res, status, code, message);
  }
}

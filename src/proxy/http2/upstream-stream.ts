/**
 * One request to an HTTP/2 backend, from the pool's queue to the end of its
 * stream. The head becomes `:method`, `:path`, `:scheme` (the backend's) and
 * `:authority` (the Host field, else the backend's address), the fields
 * HTTP/2 forbids dropped, plus `te: trailers`: the proxy relays trailers, and
 * gRPC servers require it; a call with a deadline gets the time it has left
 * as `grpc-timeout`. The body is written under the stream's flow
 * control and ends with the client's trailer fields when it had some. The
 * response comes back through the handler: head, body (the stream paused
 * while the handler is full), then trailers as a flat list, so `grpc-status`
 * and `grpc-message` reach the client. A gRPC Trailers-Only answer (one
 * HEADERS frame that ends the stream) is relayed as a head followed by its
 * status fields as trailers, which every client reads the same way and which
 * a client side that has already sent its head can still deliver.
 *
 * Failures map to the upstream error codes: a stream the backend refused
 * (REFUSED_STREAM, or dropped by a GOAWAY) before any answer never reached
 * it (REFUSED); any other reset or a lost connection is RESET; a session that
 * never connected is CONNECT. The headers timeout (default the listener's)
 * and the body timeout are inactivity timers on the stream, as they are on an
 * HTTP/1.1 socket. Aborting cancels the stream (RST_STREAM CANCEL).
 */

import { STATUS_CODES } from "node:http";
import http2 from "node:http2";
import type { Readable } from "node:stream";
import { fromHttp2Headers, toHttp2Headers } from "../../core/http2-headers.js";
import { grpcTimeoutUntil } from "../../http1/grpc-timeout.js";
import {
  UpstreamError,
  UpstreamErrorCodes,
  type UpstreamHandler,
  type UpstreamRequest,
} from "../../http1/upstream-handler.js";
import type { Waiting } from "../../http1/wait-queue.js";
import type { UpstreamSession } from "./upstream-session.js";

/** The stream's owner: takes an aborted attempt out of its queue. */
export interface StreamOwner {
  _dequeue(attempt: UpstreamStream, error: Error): void;
}

export interface StreamSettings {
  /** `http` or `https`: the backend's scheme. */
  scheme: string;
  /** The backend's `host:port`, for a request without a Host field. */
  authority: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** The fields of a gRPC status, moved to the trailers of a Trailers-Only answer. */
const GRPC_STATUS_FIELDS = new Set(["grpc-status", "grpc-message", "grpc-status-details-bin"]);

export class UpstreamStream implements Waiting {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The attempt is over: completed, failed or aborted. */
  ended = false;
  readonly #owner: StreamOwner;
  readonly #settings: StreamSettings;
  #session: UpstreamSession | undefined = undefined;
  #stream: http2.ClientHttp2Stream | undefined = undefined;
  #status = 0;
  #trailers: string[] | null = null;
  #body: Readable | undefined = undefined;

  constructor(
    owner: StreamOwner,
    request: UpstreamRequest,
    handler: UpstreamHandler,
    settings: StreamSettings,
  ) {
    this.#owner = owner;
    this.request = request;
    this.handler = handler;
    this.#settings = settings;
  }

  abort = (error?: Error): void => {
    if (this.ended) return;
    const reason = error ?? new Error("the request was aborted");
    if (this.#stream !== undefined) this.fail(reason);
    else this.#owner._dequeue(this, reason);
  };

  /** Sends the request on `session`, which must have a free stream. */
  start(session: UpstreamSession): void {
    const request = this.request;
    this.#session = session;
    const body = request.body;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(this.#head(), { endStream: body === null, waitForTrailers: body !== null });
    } catch (error) {
      this.fail(
        new UpstreamError(UpstreamErrorCodes.REFUSED, "the backend's connection takes no new streams", error),
      );
      return;
    }
    this.#stream = stream;
    stream.setTimeout(request.headersTimeoutMs ?? this.#settings.headersTimeoutMs);
    stream.on("timeout", this.#onTimeout);
    stream.on("response", this.#onResponse);
    stream.on("data", this.#onData);
    stream.on("trailers", this.#onTrailers);
    stream.on("end", this.#onEnd);
    stream.on("error", ignoreError);
    stream.on("close", this.#onClose);
    if (body === null) return;
    stream.on("wantTrailers", () =>
      stream.sendTrailers(toHttp2Headers(request.trailers?.trailers ?? [], {})),
    );
    if (Buffer.isBuffer(body)) {
      stream.end(body);
      return;
    }
    this.#body = body;
    body.on("data", this.#onBodyData);
    body.on("end", this.#onBodyEnd);
    body.on("error", this.#onBodyError);
  }

  /** Ends the attempt with `error`, cancelling its stream. */
  fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.#detachBody();
    const stream = this.#stream;
    if (stream !== undefined && !stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
    this.handler.onError(error);
  }

  // request ----------------------------------------------------------------

  #head(): http2.OutgoingHttpHeaders {
    const { request } = this;
    const list = request.headers;
    let authority = this.#settings.authority;
    for (let i = 0; i < list.length; i += 2) {
      if ((list[i] as string).toLowerCase() === "host") authority = list[i + 1] as string;
    }
    const head: http2.OutgoingHttpHeaders = {
      ":method": request.method,
      ":path": request.path,
      ":scheme": this.#settings.scheme,
      ":authority": authority,
    };
    toHttp2Headers(list, head);
    delete head.host;
    head.te = "trailers";
    if (request.deadline !== undefined) head["grpc-timeout"] = grpcTimeoutUntil(request.deadline);
    return head;
  }

  #onBodyData = (chunk: Buffer): void => {
    const stream = this.#stream as http2.ClientHttp2Stream;
    if (!stream.write(chunk)) {
      this.#body?.pause();
      stream.once("drain", this.#onStreamDrain);
    }
  };

  #onStreamDrain = (): void => {
    this.#body?.resume();
  };

  #onBodyEnd = (): void => {
    this.#detachBody();
    (this.#stream as http2.ClientHttp2Stream).end();
  };

  #onBodyError = (error: Error): void => {
    this.fail(error);
  };

  #detachBody(): void {
    const body = this.#body;
    if (body === undefined) return;
    this.#body = undefined;
    body.off("data", this.#onBodyData);
    body.off("end", this.#onBodyEnd);
    body.off("error", this.#onBodyError);
    this.#stream?.off("drain", this.#onStreamDrain);
  }

  // response ---------------------------------------------------------------

  #onResponse = (headers: http2.IncomingHttpHeaders, flags: number): void => {
    const status = Number(headers[":status"]);
    this.#status = status;
    const stream = this.#stream as http2.ClientHttp2Stream;
    stream.setTimeout(this.#settings.bodyTimeoutMs);
    let list = fromHttp2Headers(headers);
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0 && headers["grpc-status"] !== undefined) {
      // Trailers-Only: the status fields become the trailers.
      const head: string[] = [];
      const trailers: string[] = [];
      for (let i = 0; i < list.length; i += 2) {
        const target = GRPC_STATUS_FIELDS.has(list[i] as string) ? trailers : head;
        target.push(list[i] as string, list[i + 1] as string);
      }
      list = head;
      this.#trailers = trailers;
    }
    this.handler.onHeaders(status, list, this.#resume, STATUS_CODES[status] ?? "");
  };

  #onData = (chunk: Buffer): void => {
    if (this.ended) return;
    if (!this.handler.onData(chunk)) this.#stream?.pause();
  };

  #resume = (): void => {
    if (!this.ended) this.#stream?.resume();
  };

  #onTrailers = (headers: http2.IncomingHttpHeaders): void => {
    this.#trailers = fromHttp2Headers(headers);
  };

  #onEnd = (): void => {
    const stream = this.#stream as http2.ClientHttp2Stream;
    // Node ends the readable side of a reset stream too: that is a failure, for #onClose.
    if (this.ended || this.#status === 0 || (stream.rstCode ?? NGHTTP2_NO_ERROR) !== NGHTTP2_NO_ERROR) return;
    this.ended = true;
    this.#detachBody();
    // The backend answered before the whole body was sent: stop sending (RFC 9113 §8.1).
    if (!stream.writableFinished && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
    this.handler.onComplete(this.#trailers);
  };

  #onTimeout = (): void => {
    const code = this.#status === 0 ? UpstreamErrorCodes.HEADERS_TIMEOUT : UpstreamErrorCodes.BODY_TIMEOUT;
    this.fail(
      new UpstreamError(
        code,
        this.#status === 0 ? "the backend did not answer in time" : "the backend's response stalled",
      ),
    );
  };

  #onClose = (): void => {
    if (this.ended) return;
    const session = this.#session as UpstreamSession;
    const stream = this.#stream as http2.ClientHttp2Stream;
    if (session.failure !== undefined) this.fail(session.failure);
    else if (!session.connected)
      this.fail(new UpstreamError(UpstreamErrorCodes.CONNECT, "could not connect to the backend"));
    else if (this.#status === 0 && stream.rstCode === NGHTTP2_REFUSED_STREAM)
      this.fail(new UpstreamError(UpstreamErrorCodes.REFUSED, "the backend refused the stream"));
    else
      this.fail(
        new UpstreamError(
          UpstreamErrorCodes.RESET,
          `the backend reset the stream before the response ended (HTTP/2 error ${stream.rstCode ?? "none"})`,
        ),
      );
  };
}

function ignoreError(): void {}

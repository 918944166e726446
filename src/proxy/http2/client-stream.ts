/**
 * One HTTP/2 stream from a client, as the exchange sees it: its request
 * (http2-request.ts) and the writer of its response (client-side.ts). The
 * head goes out as a HEADERS frame, names lower-cased and the
 * connection-specific fields HTTP/2 forbids dropped (a route's header edits
 * could add them); the body as DATA frames under the stream's flow control
 * (`write` answers false until 'drain'); trailers as the closing HEADERS
 * frame, or an empty DATA frame that ends the stream when there are none; a
 * head that declares an empty body (`content-length: 0`, as a gRPC
 * Trailers-Only error does) ends the stream itself. The request body is
 * pushed into the request's body stream, the HTTP/2 stream paused while that
 * is full, and the trailer fields that may follow it are kept on the
 * request, where the backend attempt reads them once the body has ended. A
 * response that ends before the request body did reads the rest and drops
 * it, as HTTP/1.1 does. A stream that closes before its response ended means
 * the client left: the owner hears it (which aborts the backend attempt),
 * and a reset the client sent is reported to the session's rapid-reset guard.
 *
 * While the proxy waits on the client, a stream without a frame either way
 * for `idleTimeoutMs` is reset (as an HTTP/1.1 connection is closed): an
 * upload that stalls (unless the backend holds it back), and a response the
 * client stops reading, even one the backend has finished, whose bytes would
 * otherwise wait in the stream forever. While it waits on the backend, the
 * backend's own timers (headersMs, idleMs) govern.
 */
import http2 from "node:http2";
import { type ErrorCode, ErrorCodes } from "../../core/errors.js";
import { fromHttp2Headers, toHttp2Headers } from "../../core/http2-headers.js";
import type { HeadLimits } from "../../http1/head-parser.js";
import {
  CLIENT_BODY_ABORTED,
  type ClientSocket,
  type ProxyRequest,
  type ResponseOwner,
  type ResponseWriter,
} from "../client-side.js";
import { proxyError, sendErrorResponse } from "../error-responses.js";
import type { BodyReader } from "../http1/client-request.js";
import { Http2Request } from "./http2-request.js";

/** Who answers the stream's request (the listener). */
export interface ClientStreamHost {
  /** The listener's request limits, held to HTTP/2 requests as to HTTP/1.1 ones (field count, target length). */
  readonly headLimits: Readonly<HeadLimits>;
  _accept(request: ProxyRequest, writer: ResponseWriter): ResponseOwner;
  _refused(status: number, code: ErrorCode, request: boolean): void;
}

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const BAD_PATH = proxyError(ErrorCodes.BAD_REQUEST, "the :path must start with /");
const TOO_MANY_FIELDS = proxyError(ErrorCodes.HEADERS_TOO_LARGE, "too many header fields");
const HEADER_LIST_TOO_LARGE = proxyError(ErrorCodes.HEADERS_TOO_LARGE, "the header list is too large");
const TARGET_TOO_LONG = proxyError(ErrorCodes.URI_TOO_LONG);

export class ClientStream implements ResponseWriter, BodyReader {
  readonly #stream: http2.ServerHttp2Stream;
  readonly #request: Http2Request;
  /** Called when the client reset the stream before its response ended. */
  readonly #onClientReset: () => void;
  #owner: ResponseOwner | undefined = undefined;
  #status = 0;
  /** HEAD, 204 and 304 responses: the head ends the stream. */
  #noBody = false;
  #trailers: http2.OutgoingHttpHeaders = {};
  /** The response has ended (or was cut by us): a later close is no client reset. */
  #over = false;
  /** The response ended before the request body: what is left of it is dropped. */
  #discarding = false;
  readonly #idleTimeoutMs: number;
  /** The stream's inactivity timer is set: the proxy waits on the client. */
  #timed = false;

  constructor(
    stream: http2.ServerHttp2Stream,
    flags: number,
    rawHeaders: readonly string[],
    socket: ClientSocket,
    idleTimeoutMs: number,
    onClientReset: () => void,
  ) {
    this.#stream = stream;
    this.#onClientReset = onClientReset;
    this.#idleTimeoutMs = idleTimeoutMs;
    const hasBody = (flags & NGHTTP2_FLAG_END_STREAM) === 0;
    this.#request = new Http2Request(rawHeaders, socket, hasBody ? this : undefined);
    stream.on("error", ignoreError);
    stream.on("close", () => this.#closed());
    stream.on("drain", () => this.#owner?.clientDrained());
    stream.on("wantTrailers", () => stream.sendTrailers(this.#trailers));
    if (hasBody) {
      stream.on("data", (chunk: Buffer) => this.#bodyData(chunk));
      stream.on("trailers", (trailers: http2.IncomingHttpHeaders) => this.#bodyTrailers(trailers));
      stream.on("end", () => this.#bodyEnd());
      this.#waitForClient();
    }
  }

  /**
   * Hands the request to whoever answers it (the host's exchange or
   * redirect), once it is within the limits: the field count and target
   * length are the listener's, as over HTTP/1.1, and the header list's size
   * (`rawHeaders`: name + value + 32 per field, RFC 9113) is checked here
   * too, since nghttp2 holds a client to the advertised size only once it
   * acknowledged our SETTINGS, which a first request does not wait for.
   */
  start(host: ClientStreamHost, rawHeaders: readonly string[], maxHeaderListSize: number): void {
    const request = this.#request;
    // CONNECT and asterisk-form targets have nothing to route on.
    const refusal = !request.url.startsWith("/")
      ? BAD_PATH
      : request.rawHeaders.length / 2 > host.headLimits.maxHeaders
        ? TOO_MANY_FIELDS
        : headerListSize(rawHeaders) > maxHeaderListSize
          ? HEADER_LIST_TOO_LARGE
          : request.url.length > host.headLimits.maxTargetBytes
            ? TARGET_TOO_LONG
            : undefined;
    if (refusal !== undefined) {
      host._refused(sendErrorResponse(this, request, refusal), refusal.code, true);
      return;
    }
    const owner = host._accept(request, this);
    this.#owner = owner;
    owner.start();
  }

  get status(): number {
    return this.#status;
  }

  get headersSent(): boolean {
    return this.#status !== 0;
  }

  writeHead(status: number, _reason: string | undefined, headers: readonly string[]): void {
    this.#status = status;
    const out = toHttp2Headers(headers, { ":status": status });
    // A declared empty body has no room for trailers either, as over HTTP/1.1.
    this.#noBody =
      this.#request.method === "HEAD" || status === 204 || status === 304 || out["content-length"] === "0";
    if (this.#gone()) return;
    this.#stream.respond(out, { endStream: this.#noBody, waitForTrailers: !this.#noBody });
  }

  write(chunk: Buffer): boolean {
    if (this.#noBody || chunk.length === 0 || this.#gone()) return true;
    if (this.#stream.write(chunk)) return true;
    this.#waitForClient();
    return false;
  }

  end(trailers: readonly string[] | null): void {
    if (this.#over) return;
    this.#over = true;
    if (!this.#noBody && !this.#gone()) {
      if (trailers !== null) this.#trailers = toHttp2Headers(trailers, {});
      this.#stream.end();
      if (this.#stream.writableLength > 0) this.#waitForClient();
    }
    this.#responseEnded();
  }

  get endsWithTrailers(): boolean {
    return this.#status !== 0 && !this.#noBody && !this.#over;
  }

  /** Resets the stream: the response cannot be completed. */
  destroy(): void {
    this.#over = true;
    if (!this.#gone()) this.#stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  /** The stream was reset or closed: nothing can be sent on it. */
  #gone(): boolean {
    return this.#stream.closed || this.#stream.destroyed;
  }

  /** Nothing to do: an unread body is dropped when the response ends, and the connection's other streams go on. */
  closeAfterResponse(): void {}

  /** @internal The request body's reader wants more. */
  _bodyWanted(): void {
    this.#stream.resume();
  }

  #bodyData(chunk: Buffer): void {
    if (this.#discarding) return;
    if (!(this.#request.body as NonNullable<Http2Request["body"]>).push(chunk)) this.#stream.pause();
  }

  /**
   * The trailer fields after the body. nghttp2 has refused pseudo and
   * connection-specific ones; Content-Length is dropped, framing being the
   * backend connection's (and a chunked trailer may not carry it).
   */
  #bodyTrailers(trailers: http2.IncomingHttpHeaders): void {
    const list = fromHttp2Headers(trailers);
    const fields: string[] = [];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== "content-length") fields.push(list[i] as string, list[i + 1] as string);
    }
    if (fields.length > 0) this.#request.trailers = fields;
  }

  #bodyEnd(): void {
    this.#request.complete = true;
    if (!this.#discarding) this.#request.body?.push(null);
  }

  /** Sets the stream's inactivity timer, unless it is set. */
  #waitForClient(): void {
    if (this.#timed) return;
    this.#timed = true;
    this.#stream.setTimeout(this.#idleTimeoutMs, this.#onTimeout);
  }

  /**
   * No frame either way for `idleTimeoutMs`. The stream is reset when the
   * client owes it something: body bytes (an upload the backend does not
   * hold back) or reading what it was sent. Otherwise the timer waits again
   * (an upload held back) or stops (only the backend is awaited).
   */
  #onTimeout = (): void => {
    const stream = this.#stream;
    const uploading = !this.#request.complete;
    if ((uploading && !stream.isPaused()) || stream.writableLength > 0) {
      this.destroy();
      return;
    }
    this.#timed = uploading;
    stream.setTimeout(uploading ? this.#idleTimeoutMs : 0, this.#onTimeout);
  };

  #responseEnded(): void {
    const owner = this.#owner;
    this.#owner = undefined;
    if (!this.#request.complete && !this.#discarding) {
      this.#discarding = true;
      this.#stream.resume();
    }
    owner?.clientClosed();
  }

  #closed(): void {
    // Closed before the response ended: the client reset it, whatever code it gave (NO_ERROR
    // included, as Envoy counts premature resets), or its session went (which the guard ignores).
    if (!this.#over) this.#onClientReset();
    this.#over = true;
    const request = this.#request;
    if (!request.complete) {
      request.complete = true;
      request.body?.destroy(CLIENT_BODY_ABORTED);
    }
    this.#responseEnded();
  }
}

/** A header list's size as HTTP/2 counts it: each field's name and value, plus 32. */
function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (const field of rawHeaders) size += field.length;
  return size + 16 * rawHeaders.length;
}

function ignoreError(): void {}

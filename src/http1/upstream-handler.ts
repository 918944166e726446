/**
 * The contract between the proxy and its upstream connections: what one
 * request to a backend is (`UpstreamRequest`) and the callbacks its response
 * comes back through (`UpstreamHandler`, the same shape as undici's raw
 * dispatch handler, so a request costs no wrapper object), plus the coded
 * error every failed attempt ends with (`UpstreamError`), whose `code` tells
 * the exchange whether the request reached the backend (upstream-failures.ts).
 */
import type { Readable } from "node:stream";

export interface UpstreamRequest {
  method: string;
  /** Origin-form target. */
  path: string;
  /** Flat `[name, value, ...]` list, hop-by-hop fields already removed. */
  headers: string[];
  /**
   * Body: null for none, a Buffer (sent with a Content-Length), or a stream
   * (sent as it is when the headers carry a Content-Length, chunked otherwise).
   */
  body: Buffer | Readable | null;
  /**
   * Where the client's trailer fields are found once its body has ended (read
   * then, since they arrive last); they follow a chunked body to the backend.
   */
  trailers?: { readonly trailers: readonly string[] | undefined } | undefined;
  /** How long the backend may take to send the response head, in ms; default the connection's. */
  headersTimeoutMs?: number | undefined;
  /**
   * A gRPC call's deadline (a `performance.now()` time): the request carries
   * the time left when it is sent as `grpc-timeout`. Undefined: no deadline.
   */
  deadline?: number | undefined;
  /**
   * False when the request could not be sent again should its kept-alive
   * connection turn out closed (a POST, a body not kept): the pool then sends
   * it on a new connection rather than one idle long enough for its backend to
   * be closing it. Default true.
   */
  resendable?: boolean | undefined;
}

export interface UpstreamHandler {
  /** Called once, before anything is sent; `abort` ends the attempt (with onError) at any point. */
  onConnect(abort: (error?: Error) => void): void;
  /** The final response head (1xx are not relayed). */
  onHeaders(status: number, headers: string[], resume: () => void, statusText: string): boolean;
  /** A run of body bytes; false pauses reading until `resume` (from onHeaders) is called. */
  onData(chunk: Buffer): boolean;
  /** The response ended; trailers as a flat list, or null. */
  onComplete(trailers: string[] | null): void;
  /** The attempt failed (or was aborted with the given error). */
  onError(error: Error): void;
}

/** Why an upstream attempt failed, as the exchange classifies it. */
export const UpstreamErrorCodes = {
  /** The connection could not be established: the request never left. */
  CONNECT: "SY_UPSTREAM_CONNECT_FAILED",
  CONNECT_TIMEOUT: "SY_UPSTREAM_CONNECT_TIMEOUT",
  HEADERS_TIMEOUT: "SY_UPSTREAM_HEADERS_TIMEOUT",
  BODY_TIMEOUT: "SY_UPSTREAM_BODY_TIMEOUT",
  /** The connection broke after the request was (partly) sent, before the response ended. */
  RESET: "SY_UPSTREAM_CONNECTION_RESET",
  /**
   * A kept-alive connection that sat idle a second or more broke before any
   * of the response came: most likely the backend closed it as idle while the
   * request was on its way (the keep-alive race), not a failing backend.
   */
  STALE: "SY_UPSTREAM_STALE_CONNECTION",
  /** The response could not be framed. */
  PROTOCOL: "SY_UPSTREAM_MALFORMED_RESPONSE",
  /** Every connection to the backend stayed busy for the queue timeout: the request never left. */
  QUEUE_TIMEOUT: "SY_UPSTREAM_QUEUE_TIMEOUT",
  /**
   * An HTTP/2 backend refused the stream before processing it (REFUSED_STREAM,
   * or a GOAWAY below its id): the request never reached the application.
   */
  REFUSED: "SY_UPSTREAM_STREAM_REFUSED",
  /** The pool was closed (proxy shutting down, backend removed) before the request was sent. */
  CLOSED: "SY_UPSTREAM_POOL_CLOSED",
} as const;

export type UpstreamErrorCode = (typeof UpstreamErrorCodes)[keyof typeof UpstreamErrorCodes];

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;

  constructor(code: UpstreamErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "UpstreamError";
    this.code = code;
  }
}

/** The error of a request sent to a pool that is closing or closed: it never left. */
export function poolClosedError(): UpstreamError {
  return new UpstreamError(UpstreamErrorCodes.CLOSED, "the backend's connection pool is closed");
}

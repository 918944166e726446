/**
 * What an exchange (and a redirect) needs from the client's side, whatever
 * protocol the client speaks: the request it reads (`ProxyRequest`), where
 * its response goes (`ResponseWriter`), and what the client side calls back
 * (`ResponseOwner`). HTTP/1.1 implements them with ClientRequest and
 * ClientConnection (http1/), HTTP/2 with Http2Request and ClientStream
 * (http2/), so both go through the same Exchange.
 */
import type { ErrorResponseWriter } from "./error-responses.js";
import type { HeaderObject, RequestBodyStream } from "./http1/client-request.js";
import type { RoutedRequest } from "./routes/route-match.js";

/** The error a request body fails with when the client's upload broke off. */
export const CLIENT_BODY_ABORTED = new Error("the client's request body was cut off");

/** The client's transport, as far as a request needs it. */
export interface ClientSocket {
  readonly remoteAddress?: string | undefined;
  /** True over TLS. */
  readonly encrypted?: boolean;
}

export interface ProxyRequest extends RoutedRequest {
  readonly method: string;
  /** Origin-form target: path and query. */
  readonly url: string;
  /** Flat `[name, value, ...]` list; HTTP/2's `:authority` appears as Host. */
  readonly rawHeaders: string[];
  readonly headers: HeaderObject;
  /** The declared body length; -1 when not declared (chunked, or HTTP/2 without one), 0 when there is none. */
  readonly contentLength: number;
  /** The body as it arrives; undefined when the request has none. */
  readonly body: RequestBodyStream | undefined;
  /** The whole request, body included, has been received. */
  complete: boolean;
  /** Trailer fields that followed the body (flat list), once it has fully arrived; undefined when none. */
  trailers: readonly string[] | undefined;
  readonly socket: ClientSocket;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2", for the access log. */
  readonly protocol: string;
}

/** Where a response goes: a client connection (HTTP/1.1) or a stream (HTTP/2). */
export interface ResponseWriter extends ErrorResponseWriter {
  /** The status of the response, 0 before its head. */
  readonly status: number;
  readonly headersSent: boolean;
  /** Starts the response; `headers` is a flat list with hop-by-hop fields already dropped. */
  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void;
  /** Writes body bytes; false when the client is slow to read (wait for `clientDrained`). */
  write(chunk: Buffer): boolean;
  /** Ends the response, with trailer fields (a flat list) when there are any. */
  end(trailers: readonly string[] | null): void;
  /** Whether trailer fields given to `end` reach the client (HTTP/2, or a chunked HTTP/1.1 body). */
  readonly endsWithTrailers: boolean;
  /** The response cannot be completed: cut it. */
  destroy(): void;
  /** The request body will not be read: don't keep the client's transport waiting for it. */
  closeAfterResponse(): void;
}

/** Who answers a request: the exchange, or a redirect. */
export interface ResponseOwner {
  start(): void;
  /** The response has ended, or the client went away: called once. */
  clientClosed(): void;
  /** The client read what was written; writing may go on. */
  clientDrained(): void;
}

/**
 * A request as an HTTP/2 stream's HEADERS frame carried it, in the form the
 * exchange reads (client-side.ts): `:method` and `:path` become the method
 * and target, `:authority` becomes the Host field (it wins over a Host field
 * sent beside it, RFC 9113 §8.3.1), so routes match on it and HTTP/1.1
 * backends get it; the Cookie fields HTTP/2 may send apart are joined into
 * one (§8.2.3), as HTTP/1.1 wants. The other pseudo-fields are dropped; the
 * connection-specific fields HTTP/2 forbids never get here (nghttp2 refuses
 * such a stream).
 */
import type { ClientSocket, ProxyRequest } from "../client-side.js";
import {
  type BodyReader,
  type HeaderObject,
  headerObject,
  RequestBodyStream,
} from "../http1/client-request.js";

export class Http2Request implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly contentLength: number;
  readonly body: RequestBodyStream | undefined;
  readonly socket: ClientSocket;
  readonly protocol = "HTTP/2";
  complete: boolean;
  /** The trailer fields that followed the body, set by the stream when they arrived. */
  trailers: readonly string[] | undefined = undefined;
  #headers: HeaderObject | undefined = undefined;

  /** `raw`: the stream's header list as received; `reader` is undefined when the HEADERS frame ended the stream. */
  constructor(raw: readonly string[], socket: ClientSocket, reader: BodyReader | undefined) {
    let method = "";
    let url = "";
    let authority: string | undefined;
    let host: string | undefined;
    let cookie: string | undefined;
    let contentLength = -1;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      if (name.charCodeAt(0) === 58 /* : */) {
        if (name === ":method") method = value;
        else if (name === ":path") url = value;
        else if (name === ":authority") authority = value;
      } else if (name === "cookie") {
        cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      } else if (name === "host") {
        host ??= value;
      } else {
        if (name === "content-length") contentLength = Number(value);
        headers.push(name, value);
      }
    }
    if (cookie !== undefined) headers.push("cookie", cookie);
    host = authority ?? host;
    this.rawHeaders = host === undefined ? headers : ["host", host, ...headers];
    this.method = method;
    this.url = url;
    this.socket = socket;
    this.complete = reader === undefined;
    this.contentLength = this.complete ? 0 : contentLength;
    this.body = reader === undefined ? undefined : new RequestBodyStream(reader);
  }

  get headers(): HeaderObject {
    this.#headers ??= headerObject(this.rawHeaders);
    return this.#headers;
  }
}

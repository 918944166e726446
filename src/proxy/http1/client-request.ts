/**
 * A request as the client connection parsed it: the head's fields under the
 * names the exchange and the WebSocket tunnels read (`method`, `url`,
 * `rawHeaders`, `headers`), and, when a body follows, a Readable the
 * connection pushes it into. Node's IncomingMessage is a stream for every
 * request; here only a request with a body gets one, and the header object
 * (lower-case names, repeated fields joined as node joins them) is built the
 * first time something asks for it.
 */
import type net from "node:net";
import { Readable } from "node:stream";
import { BODY_CHUNKED, BODY_NONE, type RequestHead } from "../../http1/head-parser.js";
import type { ProxyRequest } from "../client-side.js";

/** Who pushes a request body: asked to read on when the body's reader wants more. */
export interface BodyReader {
  _bodyWanted(): void;
}

export type HeaderObject = Record<string, string | string[] | undefined>;

export class ClientRequest implements ProxyRequest {
  readonly method: string;
  /** The target in origin form (an absolute-form target reduced to its path). */
  readonly url: string;
  readonly httpVersionMinor: number;
  /** Flat `[name, value, ...]` list as received. */
  readonly rawHeaders: string[];
  readonly socket: net.Socket;
  /** The declared body length; -1 for a chunked body, 0 when there is none. */
  readonly contentLength: number;
  /** The body as it arrives; undefined when the request has none. */
  readonly body: RequestBodyStream | undefined;
  /** The whole request, body included, has been received. */
  complete: boolean;
  /** The chunked body's trailer fields, set when they have arrived. */
  trailers: readonly string[] | undefined = undefined;
  #headers: HeaderObject | undefined = undefined;

  constructor(head: RequestHead, socket: net.Socket, reader: BodyReader) {
    this.method = head.method;
    this.url = head.target;
    this.httpVersionMinor = head.minor;
    this.rawHeaders = head.headers;
    this.socket = socket;
    this.contentLength = head.bodyKind === BODY_CHUNKED ? -1 : head.contentLength;
    this.complete = head.bodyKind === BODY_NONE;
    this.body = this.complete ? undefined : new RequestBodyStream(reader);
  }

  get httpVersion(): string {
    return this.httpVersionMinor === 1 ? "1.1" : "1.0";
  }

  get protocol(): string {
    return this.httpVersionMinor === 1 ? "HTTP/1.1" : "HTTP/1.0";
  }

  get headers(): HeaderObject {
    this.#headers ??= headerObject(this.rawHeaders);
    return this.#headers;
  }
}

/** Lower-case names; Set-Cookie as a list, Cookie joined with "; ", others with ", " (as node). */
export function headerObject(raw: readonly string[]): HeaderObject {
  const headers: HeaderObject = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    if (name === "set-cookie") {
      if (seen === undefined) headers[name] = [value];
      else (seen as string[]).push(value);
    } else if (seen === undefined) {
      headers[name] = value;
    } else {
      headers[name] = `${seen as string}${name === "cookie" ? "; " : ", "}${value}`;
    }
  }
  return headers;
}

/**
 * A request body, pushed by the client connection; a read it cannot serve
 * yet asks the connection to resume the socket. Errors (the client cut the
 * upload) go to whoever reads it; one quiet listener keeps a body nobody
 * reads yet (queued for a backend connection) from throwing.
 */
export class RequestBodyStream extends Readable {
  readonly #reader: BodyReader;

  constructor(reader: BodyReader) {
    super({ highWaterMark: 64 * 1024 });
    this.#reader = reader;
    this.on("error", ignoreError);
  }

  override _read(): void {
    this.#reader._bodyWanted();
  }
}

function ignoreError(): void {}

/**
 * One HTTP/2 connection to a backend (node:http2 client session) carrying
 * many requests at once, one stream each: h2c with prior knowledge to an
 * `http://` backend, TLS with ALPN `h2` to an `https://` one (a backend that
 * does not agree to h2 fails the connect). It takes streams while it is open,
 * has not had a GOAWAY, and has fewer active than the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS (100 until those SETTINGS arrive); a
 * session that carried `maxRequests` streams stops taking new ones and closes
 * once they end. Idle `idleTimeoutMs` without a stream, it closes. The pool
 * (session-pool.ts) hears when a stream slot frees and when the session has
 * closed.
 */
import type http2 from "node:http2";
import type net from "node:net";
import type tls from "node:tls";
import { connectHttp2 } from "../../core/http2-connect.js";
import { UpstreamError, UpstreamErrorCodes } from "../../http1/upstream-handler.js";

export interface UpstreamSessionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Streams after which the session takes no more and closes; 0 for no limit. */
  maxRequests: number;
  /** Speak TLS with these options (ALPN h2); h2c when absent. */
  tls?: tls.ConnectionOptions | undefined;
}

/** Where a session reports to. */
export interface SessionOwner {
  /** A stream ended (or the backend raised its limit): the session may take another. */
  freed(session: UpstreamSession): void;
  /** The session closed (called once). */
  closed(session: UpstreamSession): void;
}

/** Streams a session takes before the backend's SETTINGS say how many it allows. */
const DEFAULT_MAX_STREAMS = 100;

export class UpstreamSession {
  readonly #session: http2.ClientHttp2Session;
  readonly #socket: net.Socket;
  readonly #owner: SessionOwner;
  readonly #maxRequests: number;
  #connected = false;
  /** No new streams: GOAWAY received, request limit reached, or closing. */
  #draining = false;
  #closed = false;
  #active = 0;
  #requests = 0;
  /** Why the session failed before it connected, for the streams that waited on it. */
  #failure: UpstreamError | undefined = undefined;

  constructor(options: UpstreamSessionOptions, owner: SessionOwner) {
    this.#owner = owner;
    this.#maxRequests = options.maxRequests;
    const { session, socket } = connectHttp2(
      options.host,
      options.port,
      options.tls,
      options.connectTimeoutMs,
      (error) => {
        this.#failure ??= new UpstreamError(UpstreamErrorCodes.CONNECT_TIMEOUT, error.message, error);
      },
    );
    this.#socket = socket;
    this.#session = session;
    session.on("connect", () => {
      // Unless connectHttp2 destroyed it for refusing h2 (the error event says so).
      if (!session.destroyed) this.#connected = true;
    });
    session.on("error", (error: Error) => {
      if (!this.#connected)
        this.#failure ??= new UpstreamError(
          UpstreamErrorCodes.CONNECT,
          `could not connect to the backend: ${error.message}`,
          error,
        );
    });
    session.on("remoteSettings", () => this.#owner.freed(this));
    session.on("goaway", () => {
      this.#draining = true;
    });
    session.setTimeout(options.idleTimeoutMs, () => {
      if (this.#active === 0) this.close();
    });
    session.on("close", () => {
      this.#draining = true;
      this.#closed = true;
      this.#owner.closed(this);
    });
  }

  /** Whether the session takes a new stream now. */
  get available(): boolean {
    if (this.#draining || this.#session.closed || this.#session.destroyed) return false;
    return this.#active < (this.#session.remoteSettings.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS);
  }

  /** Streams open now. */
  get active(): number {
    return this.#active;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Why the session could not connect, when it could not. */
  get failure(): UpstreamError | undefined {
    return this.#failure;
  }

  get bytesWritten(): number {
    return this.#socket.bytesWritten;
  }

  get bytesRead(): number {
    return this.#socket.bytesRead;
  }

  /** Opens a stream; the session must be `available`. */
  request(
    headers: http2.OutgoingHttpHeaders,
    options: http2.ClientSessionRequestOptions,
  ): http2.ClientHttp2Stream {
    const stream = this.#session.request(headers, options);
    this.#active++;
    this.#requests++;
    if (this.#maxRequests > 0 && this.#requests >= this.#maxRequests) this.#draining = true;
    stream.once("close", () => {
      this.#active--;
      if (this.#draining && this.#active === 0) this.close();
      else this.#owner.freed(this);
    });
    return stream;
  }

  /** Takes no new streams and closes once those open have ended. */
  close(): void {
    this.#draining = true;
    if (!this.#closed) this.#session.close();
  }

  /** Closes now, failing the streams open. */
  destroy(): void {
    this.#draining = true;
    this.#session.destroy();
  }
}

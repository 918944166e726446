/**
 * Small HTTP/2 exchanges with a pool's backends off the request path: health
 * checks (gRPC and HTTP) and load probes to `backendProtocol: h2` pools. One
 * session per backend (h2c, or ALPN h2 with the pool's backend TLS settings,
 * opened by http2-connect.ts), kept between exchanges and reopened once it
 * closes or goes away, as Envoy's HTTP/2 health checker and HAProxy's
 * `check-proto h2` keep theirs rather than connecting for each check.
 * Sessions are unref'd, so an idle one does not keep the process alive,
 * close after `idleTimeoutMs` without traffic when that is set (for users
 * that do not hear when a backend leaves), and `release(backend)` and
 * `close()` destroy them.
 */
import http2 from "node:http2";
import type { Backend } from "./backend.js";
import { connectHttp2 } from "./http2-connect.js";
import { tlsConnectOptions, type UpstreamTls } from "./upstream-tls.js";

export interface Http2Answer {
  status: number;
  /** The response's header fields, its trailers merged over them. */
  fields: http2.IncomingHttpHeaders;
  /** The body, up to the exchange's `limit` bytes. */
  body: Buffer;
  /** The body went past `limit`: the stream was cancelled there and `body` holds the first bytes. */
  truncated: boolean;
}

export interface Http2ExchangeOptions {
  /** Aborts the exchange (its stream is reset); the session stays. */
  signal: AbortSignal;
  /** Bytes sent as the request body; none when absent. */
  body?: Buffer;
  /** Body bytes kept; past them the stream is cancelled. */
  limit: number;
}

export interface BackendHttp2ClientOptions {
  /** How `https://` backends are reached. */
  tls: UpstreamTls;
  /** A session not connected by then is destroyed, failing its streams. */
  connectTimeoutMs: number;
  /** A session this long without traffic closes; kept until released when absent. */
  idleTimeoutMs?: number;
  /**
   * An aborted exchange also destroys its session, so the next one connects
   * afresh (a health check that timed out may be waiting on a connection to
   * a backend that is gone). For users with one exchange per backend at a time.
   */
  abortDestroysSession?: boolean;
}

export class BackendHttp2Client {
  readonly #options: Readonly<BackendHttp2ClientOptions>;
  readonly #sessions = new Map<Backend, http2.ClientHttp2Session>();

  constructor(options: Readonly<BackendHttp2ClientOptions>) {
    this.#options = options;
  }

  /** Sends one request (`headers` with their pseudo-fields) and reads the answer. */
  async request(
    backend: Backend,
    headers: http2.OutgoingHttpHeaders,
    options: Http2ExchangeOptions,
  ): Promise<Http2Answer> {
    const session = this.#session(backend);
    const stream = session.request(headers, {
      signal: options.signal,
      endStream: options.body === undefined,
    });
    if (options.body !== undefined) stream.end(options.body);
    const onAbort = () => session.destroy();
    if (this.#options.abortDestroysSession) options.signal.addEventListener("abort", onAbort, { once: true });
    stream.once("close", () => options.signal.removeEventListener("abort", onAbort));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let fields: http2.IncomingHttpHeaders = {};
      const answer = (truncated: boolean): Http2Answer => ({
        // node gives :status as a number, whatever its header type says.
        status: fields[":status"] as unknown as number,
        fields,
        body: Buffer.concat(chunks).subarray(0, options.limit),
        truncated,
      });
      stream.on("response", (head) => {
        fields = head;
      });
      stream.on("trailers", (trailers) => {
        fields = { ...fields, ...trailers };
      });
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size <= options.limit) return;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve(answer(true));
      });
      stream.on("error", (error: Error & { code?: string }) =>
        // A stream cancelled with its session says why the session failed (a refused certificate, no h2).
        reject(
          error.code === "ERR_HTTP2_STREAM_CANCEL" && error.cause instanceof Error ? error.cause : error,
        ),
      );
      stream.on("end", () => resolve(answer(false)));
      // After an answer this changes nothing; before one, the stream was reset or its session lost.
      stream.on("close", () =>
        reject(new Error(`the stream closed before the answer (HTTP/2 error ${stream.rstCode})`)),
      );
    });
  }

  /** Destroys the session to `backend` (it left the pool). */
  release(backend: Backend): void {
    this.#sessions.get(backend)?.destroy();
    this.#sessions.delete(backend);
  }

  /** Destroys every session. */
  close(): void {
    for (const session of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }

  #session(backend: Backend): http2.ClientHttp2Session {
    const open = this.#sessions.get(backend);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const { tls, connectTimeoutMs, idleTimeoutMs } = this.#options;
    const { session } = connectHttp2(
      backend.host,
      backend.port,
      tlsConnectOptions(backend, tls, "h2"),
      connectTimeoutMs,
    );
    // Its streams fail with the error; the next exchange opens a new session.
    session.on("error", () => {});
    if (idleTimeoutMs !== undefined) session.setTimeout(idleTimeoutMs, () => session.close());
    session.on("close", () => {
      if (this.#sessions.get(backend) === session) this.#sessions.delete(backend);
    });
    // Exchanges come every few seconds or less: an idle session must not keep the process alive.
    session.unref();
    this.#sessions.set(backend, session);
    return session;
  }
}

/**
 * The HTTP/2 connections to one backend (`backendProtocol: h2`). Requests are
 * streams on one session; when every open session is at the backend's
 * concurrent-stream limit, another session opens, up to `maxConnections`
 * sessions (0: no limit), as HAProxy and Envoy do rather than queueing behind
 * one connection. Beyond that a request waits in the FIFO queue for a stream
 * to free, or fails with QUEUE_TIMEOUT after `queueTimeoutMs` without
 * reaching the backend, as on HTTP/1.1. A session that closes or goes away
 * (GOAWAY) takes no new streams; the next request opens a new one.
 * `close()` lets streams in flight and queued finish, then resolves;
 * `destroy()` fails them at once.
 */
import type tls from "node:tls";
import { formatHostPort } from "../../core/address.js";
import { poolClosedError, type UpstreamHandler, type UpstreamRequest } from "../../http1/upstream-handler.js";
import { WaitQueue } from "../../http1/wait-queue.js";
import { type SessionOwner, UpstreamSession } from "./upstream-session.js";
import { type StreamOwner, UpstreamStream } from "./upstream-stream.js";

export interface SessionPoolOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  /** Streams after which a session is closed instead of reused; 0 for no limit. */
  maxRequests: number;
  /** Most sessions open at once; 0 for no limit. */
  maxConnections: number;
  /** How long a request waits for a stream when every session is full, in ms. */
  queueTimeoutMs: number;
  /** TLS with ALPN h2 (an `https://` backend); h2c when absent. */
  tls?: tls.ConnectionOptions | undefined;
}

export class SessionPool implements SessionOwner, StreamOwner {
  readonly #host: string;
  readonly #port: number;
  readonly #options: Readonly<SessionPoolOptions>;
  readonly #sessions = new Set<UpstreamSession>();
  readonly #queue: WaitQueue<UpstreamStream>;
  readonly #settings: { scheme: string; authority: string; headersTimeoutMs: number; bodyTimeoutMs: number };
  #closedWritten = 0;
  #closedRead = 0;
  #closing = false;
  #onSettled: (() => void) | undefined = undefined;

  constructor(host: string, port: number, options: Readonly<SessionPoolOptions>) {
    this.#host = host;
    this.#port = port;
    this.#options = options;
    this.#settings = {
      scheme: options.tls === undefined ? "http" : "https",
      authority: formatHostPort(host, port),
      headersTimeoutMs: options.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
    };
    this.#queue = new WaitQueue(options.queueTimeoutMs, (attempt, error) => {
      attempt.fail(error);
      this.#settle();
    });
  }

  /** Sessions open now. */
  get open(): number {
    return this.#sessions.size;
  }

  /** Sessions open and carrying no stream. */
  get idle(): number {
    let idle = 0;
    for (const session of this.#sessions) if (session.active === 0) idle++;
    return idle;
  }

  /** Requests waiting for a stream. */
  get queued(): number {
    return this.#queue.length;
  }

  get bytesWritten(): number {
    let total = this.#closedWritten;
    for (const session of this.#sessions) total += session.bytesWritten;
    return total;
  }

  get bytesRead(): number {
    let total = this.#closedRead;
    for (const session of this.#sessions) total += session.bytesRead;
    return total;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const attempt = new UpstreamStream(this, request, handler, this.#settings);
    handler.onConnect(attempt.abort);
    if (attempt.ended) return;
    if (this.#closing) {
      attempt.fail(poolClosedError());
      return;
    }
    const session = this.#pick();
    if (session !== undefined) attempt.start(session);
    else this.#queue.push(attempt);
  }

  /** Lets streams in flight and queued finish, then closes; resolves when no session is open. */
  close(): Promise<void> {
    this.#closing = true;
    for (const session of this.#sessions) if (session.active === 0) session.close();
    if (this.#sessions.size === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onSettled = resolve;
    });
  }

  /** Fails queued requests and closes every session now. */
  destroy(): void {
    this.#closing = true;
    const error = poolClosedError();
    for (const attempt of this.#queue.takeAll()) attempt.fail(error);
    for (const session of [...this.#sessions]) session.destroy();
  }

  // SessionOwner -----------------------------------------------------------

  /** @internal */
  freed(session: UpstreamSession): void {
    while (session.available && this.#queue.length > 0)
      (this.#queue.shift() as UpstreamStream).start(session);
    if (this.#closing && session.active === 0 && this.#queue.length === 0) session.close();
  }

  /** @internal */
  closed(session: UpstreamSession): void {
    this.#sessions.delete(session);
    this.#closedWritten += session.bytesWritten;
    this.#closedRead += session.bytesRead;
    // Requests still waiting get a new session.
    if (this.#queue.length > 0 && !this.#closing) {
      const next = this.#pick();
      if (next !== undefined) this.freed(next);
    }
    this.#settle();
  }

  // StreamOwner ------------------------------------------------------------

  /** @internal A queued attempt was aborted. */
  _dequeue(attempt: UpstreamStream, error: Error): void {
    this.#queue.remove(attempt);
    attempt.fail(error);
    this.#settle();
  }

  // ------------------------------------------------------------------------

  /** A session with a free stream, a new one when the limit allows, or undefined. */
  #pick(): UpstreamSession | undefined {
    for (const session of this.#sessions) if (session.available) return session;
    const max = this.#options.maxConnections;
    if (max !== 0 && this.#sessions.size >= max) return undefined;
    const { tls, connectTimeoutMs, idleTimeoutMs, maxRequests } = this.#options;
    const session = new UpstreamSession(
      { host: this.#host, port: this.#port, tls, connectTimeoutMs, idleTimeoutMs, maxRequests },
      this,
    );
    this.#sessions.add(session);
    return session;
  }

  #settle(): void {
    if (this.#onSettled !== undefined && this.#sessions.size === 0 && this.#queue.length === 0)
      this.#onSettled();
  }
}

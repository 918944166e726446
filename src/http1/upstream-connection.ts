/**
 * One keep-alive HTTP/1.1 connection to a backend, carrying one request at a
 * time. It writes the request head in one string (with the time a gRPC call
 * has left as `grpc-timeout`, when it has a deadline) and the body as it comes
 * (a Buffer with Content-Length; a stream as it is, or chunked when no length
 * was declared, ending with the client's trailer fields when it sent some;
 * a kept body that had trailers is sent chunked again), parses the response
 * with the strict head parser as it lands in the read buffer all upstream
 * sockets share, and hands body bytes to the attempt's handler as copies,
 * pausing the socket while the handler is full.
 *
 * A backend may answer before it has read the whole request body (a 413, a
 * 403, an early 200): the body keeps flowing while the response does (a
 * backend may stream both ways at once), and when the response has ended
 * first, sending stops, the answer is relayed as it is, and the connection is
 * closed instead of reused, since the backend's view of the request is
 * unknown. That is an answer, never a failure.
 *
 * Each phase in turn has its timeout: connect (and the TLS handshake to an
 * `https://` backend), waiting for the response head, gaps in the response
 * body, and keep-alive idleness (shortened to the backend's `Keep-Alive:
 * timeout` less a second when that is shorter). No socket timer: a phase
 * keeps the time it began, and the pool's sweep (`_sweep`, a few times a
 * second) applies the timeout; bytes read or body bytes written since the
 * last sweep (a flag, no clock read per chunk) restart the phase's clock, as
 * a socket timeout would be refreshed, so a long upload while the head is
 * awaited never times out while it flows.
 *
 * One file, over 400 lines, on purpose: one connection's state machine (the
 * phases above share one socket, one phase clock and the framing fields),
 * read as a whole to see when a connection may be reused.
 */
import type net from "node:net";
import type { Readable } from "node:stream";
import type tls from "node:tls";
import { formatHostPort } from "../core/address.js";
import { holdClock, now, releaseClock } from "../core/clock.js";
import { SHARED_READ_BUFFER } from "../core/shared-reads.js";
import { dialBackend } from "../core/upstream-tls.js";
import { holdWrites } from "../core/write-batch.js";
import { BACKEND_CHUNK_LIMITS, ChunkedDecoder, type ChunkSink } from "./chunked-decoder.js";
import { grpcTimeoutUntil } from "./grpc-timeout.js";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  type HeadLimits,
  parseResponseHead,
  type ResponseHead,
} from "./head-parser.js";
import { HeadStore } from "./head-store.js";
import { isNamed } from "./header-names.js";
import { HttpParseError } from "./parse-error.js";
import {
  UpstreamError,
  type UpstreamErrorCode,
  UpstreamErrorCodes,
  type UpstreamHandler,
  type UpstreamRequest,
} from "./upstream-handler.js";

export interface UpstreamConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  /** Requests after which the connection is closed instead of reused; 0 for no limit. */
  maxRequests: number;
  /** Speak TLS with these options (host and port included); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
}

/** The request a connection carries: the pool's per-attempt record. */
export interface ConnectionAttempt {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  /** The connection carrying it, once it has one. */
  connection: UpstreamConnection | undefined;
}

/** Where a connection goes when its response is over. */
export interface ConnectionOwner {
  /** The response ended and the connection can take another request. */
  released(connection: UpstreamConnection): void;
  /** The connection closed (called once). */
  closed(connection: UpstreamConnection): void;
}

/** Backend responses get more room than client requests: 64 KiB, 256 fields. */
export const BACKEND_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  maxHeadBytes: 65_536,
  maxHeaders: 256,
  maxTargetBytes: 65_536,
});

/**
 * A kept-alive connection idle at least this long (ms) may have been closed
 * by its backend as the next request went out: backends keep idle connections
 * for seconds (gunicorn's 2 s is the shortest common default). One reused
 * after a shorter wait (under load, microseconds) that breaks is a failing
 * backend, and is blamed as one.
 */
const STALE_AFTER_IDLE_MS = 1_000;
/**
 * A backend that says how long it keeps an idle connection (`Keep-Alive:
 * timeout=N`, as Node and Apache do) has its connections kept idle no longer
 * than N seconds less this margin (ms), so the proxy closes first, as undici
 * does. A hint only shortens the pool's idle timeout, never lengthens it.
 */
const KEEP_ALIVE_HINT_MARGIN_MS = 1_000;
const KEEP_ALIVE_TIMEOUT = /(?:^|[\s,;])timeout\s*=\s*"?(\d+)/i;

/** The idle time a response's `Keep-Alive: timeout=N` allows (ms, less the margin), or undefined. */
export function keepAliveHintMs(headers: readonly string[]): number | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (!isNamed(headers[i] as string, "keep-alive")) continue;
    const match = KEEP_ALIVE_TIMEOUT.exec(headers[i + 1] as string);
    return match === null ? undefined : Number(match[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS;
  }
  return undefined;
}
const CHUNK_END = Buffer.from("0\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");

export class UpstreamConnection implements ChunkSink {
  readonly #socket: net.Socket;
  readonly #owner: ConnectionOwner;
  readonly #options: UpstreamConnectionOptions;
  #connected = false;
  #closed = false;
  #requests = 0;
  /** Bytes of the current attempt's response have arrived (an interim 1xx included). */
  #answered = false;
  /** The current attempt reuses a connection idle long enough for its backend to have closed it. */
  #afterIdle = false;
  /** How long the connection is kept idle: the pool's idle timeout, or the backend's shorter Keep-Alive hint. */
  #idleMs: number;
  #attempt: ConnectionAttempt | undefined = undefined;
  #method = "GET";
  /** Bytes of a response head that has not fully arrived, and how far they were searched for its end. */
  #pending: Buffer | undefined = undefined;
  #scanned = 0;
  /** Where a head arriving in pieces is gathered; made when one does. */
  #store: HeadStore | undefined = undefined;
  #head: ResponseHead | undefined = undefined;
  #remaining = 0;
  #chunks: ChunkedDecoder | undefined = undefined;
  /** The whole request, body included, has been written. */
  #requestSent = false;
  #body: Readable | undefined = undefined;
  /** The request body waits for the backend to read (its socket's 'drain'). */
  #bodyBlocked = false;
  #bodyChunked = false;
  /** Where the client's trailer fields are read when its chunked body ends. */
  #trailerSource: UpstreamRequest["trailers"] = undefined;
  /** The connection must close after this response (early answer, stray bytes). */
  #spent = false;
  #paused = false;
  /** The timeout of the phase in force, in ms. */
  #timeoutMs: number;
  /** When the phase began, or when the last sweep saw bytes move (now()). */
  #since: number;
  /** Bytes were read, or body bytes written, since the last sweep. */
  #active = false;

  constructor(options: UpstreamConnectionOptions, owner: ConnectionOwner) {
    this.#options = options;
    this.#owner = owner;
    // The connect timeout covers the TLS handshake too.
    this.#timeoutMs = options.connectTimeoutMs;
    this.#idleMs = options.idleTimeoutMs;
    this.#since = now();
    const { socket, ready } = dialBackend(options.host, options.port, options.tls, {
      buffer: SHARED_READ_BUFFER,
      callback: this.#onRead,
    });
    this.#socket = socket;
    reportWriteErrorsApart(socket, this.#onWriteError);
    socket.on(ready, this.#onConnect);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  /** Whether the connection carries a request now. */
  get busy(): boolean {
    return this.#attempt !== undefined;
  }

  /** Idle long enough that its backend may be closing it (see STALE_AFTER_IDLE_MS). */
  get mayBeClosing(): boolean {
    return this.#requests > 0 && now() - this.#since >= STALE_AFTER_IDLE_MS;
  }

  /** Bytes written to the backend so far: request heads and bodies, as sent on the wire. */
  get bytesWritten(): number {
    return this.#socket.bytesWritten;
  }

  /** Bytes read from the backend so far: response heads and bodies. */
  get bytesRead(): number {
    return this.#socket.bytesRead;
  }

  /** Sends `attempt`'s request; the connection must be idle. */
  send(attempt: ConnectionAttempt): void {
    this.#attempt = attempt;
    attempt.connection = this;
    const { request } = attempt;
    this.#method = request.method;
    this.#requestSent = false;
    this.#spent = false;
    this.#answered = false;
    // Still the idle phase's start: how long the connection waited since its last response.
    this.#afterIdle = this.mayBeClosing;
    this.#requests++;
    if (this.#connected) this.#startPhase(request.headersTimeoutMs ?? this.#options.headersTimeoutMs);
    this.#writeRequest(request);
  }

  /**
   * Applies the phase's timeout at `now` (the pool calls this for every
   * connection, a few times a second) and returns that timeout, so the pool
   * sweeps often enough for it. Bytes moving while connecting are only
   * buffered writes: they do not count.
   */
  _sweep(now: number): number {
    // Paused, the response waits on a client that reads slowly; with the request body neither
    // ended nor held up by the backend, the request waits on a client that uploads slowly. Either
    // way the client's timeout applies, not the backend's: a stalled client must not count
    // against a backend (it would open its circuit for everyone).
    const waitingOnClient = this.#paused || (this.#body !== undefined && !this.#bodyBlocked);
    if ((this.#active || waitingOnClient) && this.#connected) {
      this.#active = false;
      this.#since = now;
    } else if (now - this.#since >= this.#timeoutMs) {
      this.#onTimeout();
    }
    return this.#timeoutMs;
  }

  /** Ends the current attempt with `error` (the handler's abort) and closes the connection. */
  abort(attempt: ConnectionAttempt, error: Error): void {
    if (this.#attempt === attempt) this.#fail(error);
  }

  /** Closes the connection now; an attempt on it fails with `error`. */
  destroy(error: Error): void {
    if (this.#attempt !== undefined) this.#fail(error);
    else this.#socket.destroy();
  }

  // ChunkSink --------------------------------------------------------------

  onBodyData(data: Buffer): void {
    this.#deliver(data);
  }

  // request ----------------------------------------------------------------

  #writeRequest(request: UpstreamRequest): void {
    const socket = this.#socket;
    const body = request.body;
    let text = `${request.method} ${request.path} HTTP/1.1\r\n`;
    let hasHost = false;
    let hasLength = false;
    const headers = request.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (isNamed(name, "host")) hasHost = true;
      else if (isNamed(name, "content-length")) hasLength = true;
      text += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (!hasHost) text += `host: ${formatHostPort(this.#options.host, this.#options.port)}\r\n`;
    if (request.deadline !== undefined) text += `grpc-timeout: ${grpcTimeoutUntil(request.deadline)}\r\n`;
    if (body === null) {
      holdWrites(socket);
      socket.write(`${text}\r\n`, "latin1");
      this.#requestSent = true;
      return;
    }
    const trailers = request.trailers?.trailers;
    if (Buffer.isBuffer(body)) {
      holdWrites(socket);
      socket.cork();
      if (trailers === undefined || hasLength) {
        if (!hasLength) text += `content-length: ${body.length}\r\n`;
        socket.write(`${text}\r\n`, "latin1");
        socket.write(body);
      } else {
        // A kept body replayed with its trailers: chunked again, or they would be lost.
        socket.write(`${text}transfer-encoding: chunked\r\n\r\n`, "latin1");
        if (body.length > 0) {
          socket.write(`${body.length.toString(16)}\r\n`, "latin1");
          socket.write(body);
          socket.write(CRLF);
        }
        socket.write(lastChunk(trailers), "latin1");
      }
      socket.uncork();
      this.#requestSent = true;
      return;
    }
    this.#bodyChunked = !hasLength;
    if (this.#bodyChunked) text += "transfer-encoding: chunked\r\n";
    socket.write(`${text}\r\n`, "latin1");
    this.#trailerSource = request.trailers;
    this.#body = body;
    body.on("data", this.#onBodyData);
    body.on("end", this.#onBodyEnd);
    body.on("error", this.#onBodyError);
  }

  #onBodyData = (chunk: Buffer): void => {
    const socket = this.#socket;
    this.#active = true;
    let flushed: boolean;
    if (this.#bodyChunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
      socket.write(chunk);
      flushed = socket.write(CRLF);
      socket.uncork();
    } else {
      flushed = socket.write(chunk);
    }
    if (!flushed) {
      this.#body?.pause();
      this.#bodyBlocked = true;
      socket.once("drain", this.#onSocketDrain);
    }
  };

  #onSocketDrain = (): void => {
    this.#active = true;
    this.#bodyBlocked = false;
    this.#body?.resume();
  };

  #onBodyEnd = (): void => {
    if (this.#bodyChunked) {
      const trailers = this.#trailerSource?.trailers;
      if (trailers === undefined) this.#socket.write(CHUNK_END);
      else this.#socket.write(lastChunk(trailers), "latin1");
    }
    this.#detachBody();
    this.#requestSent = true;
  };

  #onBodyError = (error: Error): void => {
    this.#detachBody();
    if (this.#attempt !== undefined) this.#fail(error);
  };

  /** Stops reading the request body (it ended, failed, or the backend answered first). */
  #detachBody(): void {
    const body = this.#body;
    if (body === undefined) return;
    this.#body = undefined;
    this.#bodyBlocked = false;
    this.#trailerSource = undefined;
    body.off("data", this.#onBodyData);
    body.off("end", this.#onBodyEnd);
    body.off("error", this.#onBodyError);
    this.#socket.off("drain", this.#onSocketDrain);
  }

  // response ---------------------------------------------------------------

  /** A read landed in SHARED_READ_BUFFER (core/shared-reads.ts): parsed now, and what outlives this call copied out. */
  #onRead = (length: number): boolean => {
    this.#active = true;
    if (this.#attempt === undefined) {
      // Bytes nobody asked for: the connection is out of step, so it goes.
      this.#socket.destroy();
      return false;
    }
    this.#answered = true;
    const chunk = SHARED_READ_BUFFER.subarray(0, length);
    const outer = holdClock();
    try {
      if (this.#head === undefined) this.#readHead(chunk);
      else this.#readBody(chunk, 0);
    } finally {
      releaseClock(outer);
    }
    return true;
  };

  /** Hands body bytes to the attempt, as a copy: the read buffer is overwritten by the next read. */
  #deliver(view: Buffer): void {
    const attempt = this.#attempt;
    if (attempt !== undefined && !attempt.handler.onData(Buffer.from(view))) this.#pause();
  }

  #readHead(chunk: Buffer): void {
    let buf = chunk;
    if (this.#pending !== undefined) {
      this.#store ??= new HeadStore();
      buf = this.#store.append(this.#pending, chunk);
    }
    for (;;) {
      let head: ResponseHead | undefined;
      try {
        head = parseResponseHead(buf, 0, this.#method, BACKEND_HEAD_LIMITS, this.#scanned);
      } catch (error) {
        this.#fail(protocolError(error));
        return;
      }
      if (head === undefined) {
        // Kept: a copy of a read buffer's bytes; the store's own stay where they are.
        this.#pending = buf.buffer === SHARED_READ_BUFFER.buffer ? Buffer.from(buf) : buf;
        this.#scanned = buf.length;
        return;
      }
      this.#pending = undefined;
      this.#scanned = 0;
      this.#store?.clear();
      if (head.status >= 200) {
        this.#startBody(head, buf);
        return;
      }
      if (head.status === 101) {
        this.#fail(new UpstreamError(UpstreamErrorCodes.PROTOCOL, "the backend switched protocols unasked"));
        return;
      }
      // An informational answer (100 Continue, 103 Early Hints): the final one follows.
      buf = buf.subarray(head.size);
      if (buf.length === 0) return;
    }
  }

  #startBody(head: ResponseHead, buf: Buffer): void {
    const attempt = this.#attempt as ConnectionAttempt;
    this.#head = head;
    if (!head.keepAlive) this.#spent = true;
    const hintMs = keepAliveHintMs(head.headers);
    if (hintMs !== undefined) {
      // A backend keeping connections a second or less: not worth reusing.
      if (hintMs <= 0) this.#spent = true;
      else this.#idleMs = Math.min(hintMs, this.#options.idleTimeoutMs);
    }
    this.#startPhase(this.#options.bodyTimeoutMs);
    if (head.bodyKind === BODY_LENGTH) this.#remaining = head.contentLength;
    else if (head.bodyKind === BODY_CHUNKED) this.#chunks = new ChunkedDecoder(BACKEND_CHUNK_LIMITS);
    attempt.handler.onHeaders(head.status, head.headers, this.#resume, head.reason);
    if (this.#attempt !== attempt) return;
    if (head.bodyKind === BODY_NONE) {
      if (buf.length > head.size) this.#spent = true;
      this.#complete(null);
      return;
    }
    if (buf.length > head.size) this.#readBody(buf, head.size);
  }

  #readBody(buf: Buffer, at: number): void {
    const head = this.#head as ResponseHead;
    if (head.bodyKind === BODY_LENGTH) {
      const take = Math.min(this.#remaining, buf.length - at);
      this.#remaining -= take;
      this.#deliver(buf.subarray(at, at + take));
      if (this.#remaining === 0 && this.#attempt !== undefined) {
        if (at + take < buf.length) this.#spent = true;
        this.#complete(null);
      }
      return;
    }
    if (head.bodyKind === BODY_CHUNKED) {
      const decoder = this.#chunks as ChunkedDecoder;
      let end: number;
      try {
        end = decoder.decode(buf, at, this);
      } catch (error) {
        if (this.#attempt !== undefined) this.#fail(protocolError(error));
        return;
      }
      if (decoder.done && this.#attempt !== undefined) {
        if (end < buf.length) this.#spent = true;
        this.#complete(
          decoder.trailers !== undefined && decoder.trailers.length > 0 ? decoder.trailers : null,
        );
      }
      return;
    }
    // Until the connection closes.
    this.#deliver(buf.subarray(at));
  }

  #onEnd = (): void => {
    const head = this.#head;
    if (this.#attempt === undefined) this.#socket.destroy();
    else if (head !== undefined && head.bodyKind !== BODY_LENGTH && this.#chunks === undefined) {
      this.#spent = true;
      this.#complete(null);
    } else this.#fail(this.#broken(CLOSED_EARLY));
  };

  #complete(trailers: string[] | null): void {
    const attempt = this.#attempt as ConnectionAttempt;
    // The backend answered without reading the whole body: stop sending, never reuse.
    if (!this.#requestSent) this.#spent = true;
    this.#reset();
    const options = this.#options;
    if (this.#spent || (options.maxRequests > 0 && this.#requests >= options.maxRequests)) {
      this.#socket.destroy();
    } else {
      this.#startPhase(this.#idleMs);
      this.#owner.released(this);
    }
    attempt.handler.onComplete(trailers);
  }

  #fail(error: Error): void {
    const attempt = this.#attempt;
    this.#reset();
    this.#spent = true;
    this.#socket.destroy();
    attempt?.handler.onError(error);
  }

  #reset(): void {
    this.#attempt = undefined;
    this.#head = undefined;
    this.#pending = undefined;
    this.#chunks = undefined;
    this.#remaining = 0;
    this.#detachBody();
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
  }

  #resume = (): void => {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket.resume();
  };

  // socket -----------------------------------------------------------------

  #onConnect = (): void => {
    this.#connected = true;
    const attempt = this.#attempt;
    this.#startPhase(
      attempt === undefined
        ? this.#options.idleTimeoutMs
        : (attempt.request.headersTimeoutMs ?? this.#options.headersTimeoutMs),
    );
  };

  #startPhase(timeoutMs: number): void {
    this.#timeoutMs = timeoutMs;
    this.#since = now();
    this.#active = false;
  }

  #onTimeout(): void {
    if (this.#attempt === undefined) {
      this.#socket.destroy();
      return;
    }
    const code: UpstreamErrorCode = !this.#connected
      ? UpstreamErrorCodes.CONNECT_TIMEOUT
      : this.#head === undefined
        ? UpstreamErrorCodes.HEADERS_TIMEOUT
        : UpstreamErrorCodes.BODY_TIMEOUT;
    this.#fail(new UpstreamError(code, TIMEOUT_MESSAGES[code] ?? "the backend timed out"));
  }

  #onError = (error: NodeJS.ErrnoException): void => {
    if (this.#attempt === undefined) {
      this.#socket.destroy();
      return;
    }
    this.#fail(
      this.#connected
        ? this.#broken("the backend connection broke", error)
        : new UpstreamError(
            UpstreamErrorCodes.CONNECT,
            `could not connect to the backend: ${error.message}`,
            error,
          ),
    );
  };

  /**
   * The error for the connection breaking under the current attempt: STALE
   * when it had sat idle since an earlier request and nothing of this
   * response has come (the keep-alive race), else RESET.
   */
  #broken(message: string, cause?: unknown): UpstreamError {
    const stale = this.#afterIdle && !this.#answered;
    return new UpstreamError(stale ? UpstreamErrorCodes.STALE : UpstreamErrorCodes.RESET, message, cause);
  }

  /** The backend stopped reading (it answered early and reset): stop sending, keep reading. */
  #onWriteError = (): void => {
    this.#detachBody();
    this.#spent = true;
  };

  #onClose = (): void => {
    if (this.#attempt !== undefined) {
      this.#fail(
        this.#connected
          ? this.#broken(CLOSED_EARLY)
          : new UpstreamError(UpstreamErrorCodes.CONNECT, "could not connect to the backend"),
      );
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.closed(this);
  };
}

const TIMEOUT_MESSAGES: Partial<Record<UpstreamErrorCode, string>> = {
  [UpstreamErrorCodes.CONNECT_TIMEOUT]: "connecting to the backend timed out",
  [UpstreamErrorCodes.HEADERS_TIMEOUT]: "the backend did not answer in time",
  [UpstreamErrorCodes.BODY_TIMEOUT]: "the backend's response stalled",
};

const CLOSED_EARLY = "the backend closed the connection before the response ended";

/**
 * A failed write errors a net.Socket for good: it is destroyed and every byte
 * still waiting in the kernel is lost, the backend's answer with them. A
 * backend that answers early and closes without reading the body resets the
 * connection, and its answer sits in the receive buffer just before the reset.
 * So write failures go to `onWriteError` instead of the stream: the writes
 * stop, reading goes on, and the read that meets the reset ends the socket.
 */
function reportWriteErrorsApart(socket: net.Socket, onWriteError: (error: Error) => void): void {
  type WriteDone = (error?: Error | null) => void;
  // A Writable has one write out at a time, so one slot holds its callback: no closure per write.
  let pending: WriteDone | undefined;
  const settle: WriteDone = (error) => {
    const done = pending as WriteDone;
    pending = undefined;
    if (error) onWriteError(error);
    done();
  };
  const write = socket._write;
  const writev = socket._writev as NonNullable<typeof socket._writev>;
  socket._write = (chunk, encoding, done) => {
    pending = done;
    write.call(socket, chunk, encoding, settle);
  };
  socket._writev = (chunks, done) => {
    pending = done;
    writev.call(socket, chunks, settle);
  };
}

function protocolError(error: unknown): Error {
  const message = error instanceof HttpParseError ? error.message : "malformed response";
  return new UpstreamError(UpstreamErrorCodes.PROTOCOL, message, error);
}

/** The last chunk of a chunked body with its trailer section (RFC 9112 §7.1.2). */
function lastChunk(trailers: readonly string[]): string {
  let text = "0\r\n";
  for (let i = 0; i < trailers.length; i += 2) text += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

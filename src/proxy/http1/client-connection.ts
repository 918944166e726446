/**
 * The server side of one client connection: requests parsed with the strict
 * head parser, bodies framed by length or chunked coding and pushed into the
 * request's body stream, responses written with the framing the client can
 * read. One request at a time: bytes of a pipelined next request wait,
 * unparsed, until the current response has ended, so a client connection
 * never holds more than one backend connection and answers go out in order.
 *
 * A response that ends before its request body was read (an early answer)
 * keeps the connection: the rest of the body is read and dropped, then the
 * next request is parsed. A connection that must close (a refused request,
 * `Connection: close`, a client on HTTP/1.0 reading a body to its end) closes
 * lingering: our side is shut after the answer and what the client still
 * sends is read and dropped for a moment, so the answer is not lost to a
 * reset. Timeouts, checked by the listener's sweep (`_sweep`) rather than a
 * timer per connection: a started head must arrive within `headTimeoutMs`
 * (408), an idle keep-alive connection is closed after `idleTimeoutMs`, and
 * so is an upload that stalls that long while nothing holds it back (408),
 * and a client that reads nothing of its response for that long while the
 * response waits on it (HAProxy's `timeout client`): the client is the one
 * stalling, so the backend's attempt is cancelled, not failed.
 *
 * One file, over 400 lines, on purpose: it is one state machine (head, body,
 * waiting for the answer, lingering) whose transitions share the same fields;
 * split, each part would reach into the others' state.
 */
import { STATUS_CODES } from "node:http";
import type net from "node:net";
import { holdClock, now, releaseClock } from "../../core/clock.js";
import { type ErrorCode, ErrorCodes } from "../../core/errors.js";
import { SHARED_READ_BUFFER } from "../../core/shared-reads.js";
import { holdWrites, sendHeldNow } from "../../core/write-batch.js";
import { ChunkedDecoder, type ChunkSink, CLIENT_CHUNK_LIMITS } from "../../http1/chunked-decoder.js";
import { BODY_LENGTH, type HeadLimits, parseRequestHead } from "../../http1/head-parser.js";
import { HeadStore } from "../../http1/head-store.js";
import { isNamed } from "../../http1/header-names.js";
import { HttpParseError } from "../../http1/parse-error.js";
import {
  CLIENT_BODY_ABORTED,
  type ProxyRequest,
  type ResponseOwner,
  type ResponseWriter,
} from "../client-side.js";
import { proxyError, rawErrorResponse } from "../error-responses.js";
import { PREFACE_FULL, PREFACE_PARTIAL, prefaceMatch } from "../http2/preface.js";
import { ClientRequest } from "./client-request.js";

export interface ClientConnectionHost {
  readonly headLimits: Readonly<HeadLimits>;
  readonly headTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** True once the listener is shutting down: responses then close their connection. */
  readonly closing: boolean;
  /** Plain connections opening with the HTTP/2 preface speak HTTP/2 (h2c with prior knowledge). */
  readonly h2c: boolean;
  /** A request head arrived: who will answer it (started by the connection). */
  _accept(request: ProxyRequest, writer: ResponseWriter): ResponseOwner;
  /** The connection opened with the HTTP/2 preface: the socket, its read bytes put back, is an HTTP/2 session's. */
  _http2(socket: net.Socket): void;
  /** An Upgrade request: the socket, and any bytes read past the head, now belong to a tunnel. */
  _upgrade(request: ClientRequest, socket: net.Socket, rest: Buffer): void;
  /**
   * The connection answered an error itself: a refused or late head (`request`
   * true: no exchange saw it), or a broken request body.
   */
  _refused(status: number, code: ErrorCode, request: boolean): void;
  /** The connection closed or was handed to a tunnel. */
  _detached(connection: ClientConnection): void;
}

const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const LINGER = 3;

/** How the response body is framed towards the client. */
const NO_BODY = 0;
const BY_LENGTH = 1;
const CHUNKED = 2;
const UNTIL_CLOSE = 3;

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
const CHUNK_END = Buffer.from("0\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");
/** Body pieces up to this size are copied behind their head or chunk line and written as one. */
const COALESCE_BYTES = 16 * 1024;
/** How long a closing connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 2_000;
const REQUEST_TIMEOUT = proxyError(ErrorCodes.CLIENT_TIMEOUT);
const REQUEST_TIMEOUT_RESPONSE = rawErrorResponse(REQUEST_TIMEOUT);

export class ClientConnection implements ChunkSink, ResponseWriter {
  readonly socket: net.Socket;
  readonly #host: ClientConnectionHost;
  #state = HEAD;
  /** Bytes read and not used yet: a partial head, or requests pipelined behind the current one. */
  #pending: Buffer | undefined = undefined;
  /** How much of `#pending` the head parser has seen and found incomplete. */
  #scanned = 0;
  /** Where a head arriving in pieces is gathered (`#pending` starts it); made when one does. */
  #store: HeadStore | undefined = undefined;
  #request: ClientRequest | undefined = undefined;
  #owner: ResponseOwner | undefined = undefined;
  /** Body bytes still to come (length framing). */
  #remaining = 0;
  #chunks: ChunkedDecoder | undefined = undefined;
  /** The response has ended before the body: the rest of it is read and dropped. */
  #discarding = false;
  #paused = false;
  /** The socket belongs to a tunnel or an HTTP/2 session now. */
  #released = false;
  #readingHeads = false;
  /** No request head parsed yet: the connection may still turn out to speak HTTP/2. */
  #fresh = true;
  /** When the connection turned idle, a head began, or (uploads) the last sweep saw body bytes. */
  #waitingSince = now();
  /** Body bytes arrived since the last sweep. */
  #bodyActive = false;
  /** The client is not reading: the last response write filled its socket, no drain since. */
  #writeBlocked = false;
  /** The write side blocked anew or drained since the last sweep (the stall clock restarts). */
  #writeMoved = false;
  /**
   * The next request waits for the client to read what was written: a client
   * that pipelines requests and reads nothing would otherwise have every
   * response piled up in memory (HAProxy and NGINX move on only once the
   * last response has left for the client too).
   */
  #heldForDrain = false;
  /** When the sweep last saw the write side move. */
  #writeMovedAt = 0;
  #lingerTimer: NodeJS.Timeout | undefined = undefined;
  // The response being written.
  #status = 0;
  #headText: string | undefined = undefined;
  #framing = NO_BODY;
  #keepAlive = true;

  constructor(socket: net.Socket, host: ClientConnectionHost) {
    this.socket = socket;
    this.#host = host;
    socket.setNoDelay(true);
    // Shared listeners that find the connection on the socket: no closures per connection.
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on("data", onData);
    socket.on("drain", onDrain);
    socket.on("end", onEnd);
    socket.on("error", ignoreError);
    socket.on("close", onClose);
  }

  /** Nothing in progress: no request, no partial head. */
  get idle(): boolean {
    return this.#state === HEAD && this.#pending === undefined;
  }

  /** The status of the response, 0 before its head. */
  get status(): number {
    return this.#status;
  }

  /** Whether the response head is written (or waits for the first body bytes). */
  get headersSent(): boolean {
    return this.#status !== 0;
  }

  /** The response closes the connection (an error answer, a refused body). */
  closeAfterResponse(): void {
    this.#keepAlive = false;
  }

  /** Starts the response; `headers` is a flat list with hop-by-hop fields already dropped. */
  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void {
    const request = this.#request as ClientRequest;
    let text = statusLine(status, reason);
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (isNamed(name, "content-length")) hasLength = true;
      text += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (request.method === "HEAD" || status === 204 || status === 304) this.#framing = NO_BODY;
    else if (hasLength) this.#framing = BY_LENGTH;
    else if (request.httpVersionMinor === 1) {
      this.#framing = CHUNKED;
      text += "transfer-encoding: chunked\r\n";
    } else {
      this.#framing = UNTIL_CLOSE;
      this.#keepAlive = false;
    }
    if (this.#host.closing) this.#keepAlive = false;
    if (!this.#keepAlive) text += "connection: close\r\n";
    else if (request.httpVersionMinor === 0) text += "connection: keep-alive\r\n";
    this.#status = status;
    // Written with the first body bytes, so a small response leaves in one write.
    this.#headText = `${text}\r\n`;
  }

  /** Writes body bytes; false when the client is slow to read (wait for `clientDrained`). */
  write(chunk: Buffer): boolean {
    const flushed = this.#writeBody(chunk);
    if (!flushed && !this.#writeBlocked) {
      this.#writeBlocked = true;
      this.#writeMoved = true;
    }
    return flushed;
  }

  #writeBody(chunk: Buffer): boolean {
    const socket = this.socket;
    const framing = this.#framing;
    if (framing === NO_BODY || chunk.length === 0 || this.#owner === undefined) return true;
    const chunked = framing === CHUNKED;
    let prefix = this.#headText ?? "";
    this.#headText = undefined;
    if (chunked) prefix += `${chunk.length.toString(16)}\r\n`;
    if (prefix === "") return socket.write(chunk);
    if (chunk.length > COALESCE_BYTES) {
      socket.cork();
      socket.write(prefix, "latin1");
      let flushed = socket.write(chunk);
      if (chunked) flushed = socket.write(CRLF);
      socket.uncork();
      return flushed;
    }
    // One buffer, one write: cheaper than a gathered write, which also leaves native memory behind.
    holdWrites(socket);
    const size = prefix.length + chunk.length + (chunked ? 2 : 0);
    const out = Buffer.allocUnsafe(size);
    out.write(prefix, 0, "latin1");
    chunk.copy(out, prefix.length);
    if (chunked) CRLF.copy(out, size - 2);
    return socket.write(out);
  }

  /** Ends the response, with trailer fields (a flat list) when the body is chunked. */
  end(trailers: readonly string[] | null): void {
    if (this.#owner === undefined) return;
    const socket = this.socket;
    let tail: string | Buffer | undefined;
    if (this.#framing === CHUNKED) {
      if (trailers === null || trailers.length === 0) tail = CHUNK_END;
      else {
        tail = "0\r\n";
        for (let i = 0; i < trailers.length; i += 2) tail += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
        tail += "\r\n";
      }
    }
    holdWrites(socket);
    if (this.#headText !== undefined) {
      socket.write(this.#headText + (tail === undefined ? "" : tail.toString("latin1")), "latin1");
      this.#headText = undefined;
    } else if (tail !== undefined) {
      socket.write(tail);
    }
    this.#responseEnded();
  }

  get endsWithTrailers(): boolean {
    return this.#framing === CHUNKED;
  }

  /** Cuts the connection: the response cannot be completed. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Closes the connection now if nothing is in progress; otherwise after the current response. */
  closeIfIdle(): void {
    if (!this.idle) return;
    // The last response may have ended just now, its bytes still held (write-batch.ts).
    sendHeldNow(this.socket);
    this.socket.destroy();
  }

  /** Applies the timeouts at `now` (the listener calls this for every connection, a few times a second). */
  _sweep(now: number): void {
    if (this.#writeBlocked) {
      if (this.#writeMoved) {
        this.#writeMoved = false;
        this.#writeMovedAt = now;
      } else if (now - this.#writeMovedAt >= this.#host.idleTimeoutMs) {
        // A reset, so the kernel drops what the client never read instead of holding it.
        this.socket.resetAndDestroy();
        return;
      }
    }
    const waited = now - this.#waitingSince;
    // Held for the client to read: the write side's stall clock above is the one that applies.
    if (this.#heldForDrain) return;
    if (this.#state === HEAD) {
      if (this.#pending === undefined) {
        if (waited >= this.#host.idleTimeoutMs) this.socket.destroy();
      } else if (waited >= this.#host.headTimeoutMs) {
        this.socket.write(REQUEST_TIMEOUT_RESPONSE);
        this.#host._refused(REQUEST_TIMEOUT.status, REQUEST_TIMEOUT.code, true);
        this.#linger();
      }
    } else if (this.#state === BODY) {
      // A paused upload waits for the backend, not for the client.
      if (this.#bodyActive || this.#paused) {
        this.#bodyActive = false;
        this.#waitingSince = now;
      } else if (waited >= this.#host.idleTimeoutMs) {
        this.#refuse(new HttpParseError(ErrorCodes.CLIENT_TIMEOUT, "the request body stalled"));
      }
    }
  }

  // ChunkSink --------------------------------------------------------------

  onBodyData(data: Buffer): void {
    this.#deliver(data);
  }

  // reading ----------------------------------------------------------------

  /**
   * @internal Bytes from the client in SHARED_READ_BUFFER (shared-reads.ts):
   * used now, and what outlives this call copied out. Once the socket belongs
   * to a tunnel, its bytes go on to the socket's stream, as a copy.
   */
  _readShared(length: number): boolean {
    const chunk = SHARED_READ_BUFFER.subarray(0, length);
    if (this.#released) return this.socket.push(Buffer.from(chunk));
    const outer = holdClock();
    try {
      this._read(chunk);
    } finally {
      releaseClock(outer);
    }
    if (this.#pending !== undefined) this.#pending = kept(this.#pending);
    return true;
  }

  /** @internal Bytes from the client. */
  _read(chunk: Buffer): void {
    switch (this.#state) {
      case BODY:
        this.#readBody(chunk, 0);
        return;
      case LINGER:
        return;
      default:
        if (this.#pending === undefined && this.#state === HEAD) this.#waitingSince = now();
        this.#append(chunk);
        // While a response is under way, a pipelined request waits its turn.
        if (this.#state === WAIT) this.#pause();
        else this.#readHeads();
    }
  }

  /** Parses the requests waiting in `#pending`, one at a time, while the connection is free. */
  #readHeads(): void {
    // A response ended from inside the loop (an answer given at once) comes back here.
    if (this.#readingHeads) return;
    this.#readingHeads = true;
    while (this.#state === HEAD && this.#pending !== undefined && !this.#holdForDrain()) {
      const buf = this.#pending;
      if (this.#fresh && this.#host.h2c) {
        const preface = prefaceMatch(buf);
        if (preface === PREFACE_PARTIAL) {
          this.#resume();
          break;
        }
        if (preface === PREFACE_FULL) {
          this.#toHttp2();
          break;
        }
      }
      let head: ReturnType<typeof parseRequestHead>;
      try {
        head = parseRequestHead(buf, 0, this.#host.headLimits, this.#scanned);
      } catch (error) {
        this.#refuse(error);
        break;
      }
      if (head === undefined) {
        this.#scanned = buf.length;
        this.#resume();
        break;
      }
      this.#fresh = false;
      this.#pending = head.size < buf.length ? buf.subarray(head.size) : undefined;
      this.#scanned = 0;
      this.#store?.clear();
      const request = new ClientRequest(head, this.socket, this);
      this.#request = request;
      this.#status = 0;
      this.#headText = undefined;
      this.#keepAlive = head.keepAlive;
      if (head.upgrade) {
        this.#handOver(request);
        break;
      }
      if (request.body === undefined) {
        this.#state = WAIT;
        // Read on (a close shows up) unless a pipelined request already waits.
        if (this.#pending === undefined) this.#resume();
        else this.#pause();
      } else {
        this.#state = BODY;
        this.#waitingSince = now();
        this.#resume();
        if (head.bodyKind === BODY_LENGTH) this.#remaining = head.contentLength;
        else this.#chunks = new ChunkedDecoder(CLIENT_CHUNK_LIMITS);
        if (head.expectContinue && head.minor === 1) this.socket.write(CONTINUE);
      }
      // Body bytes that came with the head are framed first: a body broken
      // there is refused before any backend has seen the head.
      if (this.#state === BODY && this.#pending !== undefined) {
        const rest = this.#pending;
        this.#pending = undefined;
        this.#readBody(rest, 0);
        if (this.#refused()) break;
      }
      const owner = this.#host._accept(request, this);
      this.#owner = owner;
      owner.start();
    }
    this.#readingHeads = false;
  }

  /** Adds read bytes to `#pending` (head-store.ts: linear however finely a head trickles in). */
  #append(chunk: Buffer): void {
    if (this.#pending === undefined) {
      this.#pending = chunk;
      return;
    }
    this.#store ??= new HeadStore();
    this.#pending = this.#store.append(this.#pending, chunk);
  }

  #readBody(buf: Buffer, at: number): void {
    this.#bodyActive = true;
    let end: number;
    const chunks = this.#chunks;
    if (chunks === undefined) {
      const take = Math.min(this.#remaining, buf.length - at);
      this.#remaining -= take;
      this.#deliver(at === 0 && take === buf.length ? buf : buf.subarray(at, at + take));
      if (this.#remaining > 0) return;
      end = at + take;
    } else {
      try {
        end = chunks.decode(buf, at, this);
      } catch (error) {
        this.#refuse(error);
        return;
      }
      if (!chunks.done) return;
      this.#chunks = undefined;
      if (chunks.trailers !== undefined && chunks.trailers.length > 0)
        (this.#request as ClientRequest).trailers = chunks.trailers;
    }
    const request = this.#request as ClientRequest;
    request.complete = true;
    if (!this.#discarding) request.body?.push(null);
    if (end < buf.length) this.#pending = buf.subarray(end);
    if (this.#discarding) {
      this.#discarding = false;
      this.#nextRequest();
    } else {
      this.#state = WAIT;
      if (this.#pending !== undefined) this.#pause();
    }
  }

  #deliver(data: Buffer): void {
    if (this.#discarding || data.length === 0) return;
    const body = (this.#request as ClientRequest).body;
    if (body !== undefined && !body.push(kept(data))) this.#pause();
  }

  /** The request body's reader wants more: read the socket again. */
  _bodyWanted(): void {
    if (this.#state === BODY) this.#resume();
  }

  // the response's end -----------------------------------------------------

  #responseEnded(): void {
    const owner = this.#owner as ResponseOwner;
    this.#owner = undefined;
    const keepAlive = this.#keepAlive && !this.#host.closing;
    if (!keepAlive) this.#linger();
    else if (this.#state === BODY) {
      // An early answer: read the rest of the body and drop it, then the next request.
      this.#discarding = true;
      this.#resume();
    }
    owner.clientClosed();
    if (keepAlive && this.#state === WAIT) this.#nextRequest();
  }

  #nextRequest(): void {
    this.#state = HEAD;
    this.#waitingSince = now();
    this.#request = undefined;
    this.#status = 0;
    if (this.#pending !== undefined) this.#readHeads();
    else if (!this.#holdForDrain()) this.#resume();
  }

  /** True, and reading paused until 'drain', when the client has not read what was written. */
  #holdForDrain(): boolean {
    if (!this.socket.writableNeedDrain) return false;
    this.#heldForDrain = true;
    if (!this.#writeBlocked) {
      this.#writeBlocked = true;
      this.#writeMoved = true;
    }
    this.#pause();
    return true;
  }

  /** The request was refused and the connection is closing. */
  #refused(): boolean {
    return this.#state === LINGER;
  }

  /** Answers a request the parser refused (or a broken chunked body) and closes. */
  #refuse(error: unknown): void {
    if (this.#state === LINGER) return;
    const parse = error instanceof HttpParseError ? error : undefined;
    if (this.#status === 0) {
      const refusal = parse ?? proxyError(ErrorCodes.BAD_REQUEST);
      this.socket.write(rawErrorResponse(refusal));
      this.#host._refused(refusal.status, refusal.code, this.#owner === undefined);
    }
    this.#abandon();
    this.#linger();
  }

  /** The request will not be completed: its body fails, its owner hears the client is gone. */
  #abandon(): void {
    const request = this.#request;
    if (request !== undefined && !request.complete) {
      request.complete = true;
      request.body?.destroy(CLIENT_BODY_ABORTED);
    }
    const owner = this.#owner;
    this.#owner = undefined;
    owner?.clientClosed();
  }

  /** Shuts our side after what was written and drops what the client still sends, for a moment. */
  #linger(): void {
    this.#state = LINGER;
    this.#pending = undefined;
    this.#resume();
    this.socket.end();
    this.#lingerTimer = setTimeout(destroySocket, LINGER_MS, this.socket);
  }

  #handOver(request: ClientRequest): void {
    const rest = this.#pending === undefined ? EMPTY : kept(this.#pending);
    this.#pending = undefined;
    this.#release();
    this.#resume();
    this.#host._upgrade(request, this.socket, rest);
  }

  /** Gives the socket to an HTTP/2 session, with the bytes read so far put back for it to read. */
  #toHttp2(): void {
    const socket = this.socket;
    socket.pause();
    socket.unshift(kept(this.#pending as Buffer));
    this.#pending = undefined;
    this.#release();
    this.#host._http2(socket);
  }

  /** Stops listening to the socket, which now belongs to someone else. */
  #release(): void {
    this.#released = true;
    const socket = this.socket;
    socket.off("data", onData);
    socket.off("drain", onDrain);
    socket.off("end", onEnd);
    socket.off("error", ignoreError);
    socket.off("close", onClose);
    this.#host._detached(this);
  }

  // socket -----------------------------------------------------------------

  /** @internal The client read what was written. */
  _drained(): void {
    this.#writeBlocked = false;
    this.#writeMoved = true;
    this.#owner?.clientDrained();
    if (!this.#heldForDrain) return;
    this.#heldForDrain = false;
    this.#waitingSince = now();
    if (this.#state !== HEAD) return;
    if (this.#pending !== undefined) this.#readHeads();
    else this.#resume();
  }

  /** @internal The socket closed. */
  _closed(): void {
    clearTimeout(this.#lingerTimer);
    this.#abandon();
    this.#host._detached(this);
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }
}

const EMPTY = Buffer.alloc(0);

/** Status lines with the standard reason, built once per status: most responses use one. */
const STATUS_LINES: string[] = [];

/** `HTTP/1.1 <status> <reason>` and its CRLF, with the backend's own reason when it gave another. */
function statusLine(status: number, reason: string | undefined): string {
  const standard = STATUS_CODES[status];
  if (reason && reason !== standard) return `HTTP/1.1 ${status} ${reason}\r\n`;
  STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${standard ?? "Unknown"}\r\n`;
  return STATUS_LINES[status];
}

/** `buf` as bytes of its own: a copy when it lies in the shared read buffer, which the next read overwrites. */
function kept(buf: Buffer): Buffer {
  return buf.buffer === SHARED_READ_BUFFER.buffer ? Buffer.from(buf) : buf;
}

const CONNECTION = Symbol("client connection");
type OwnedSocket = net.Socket & { [CONNECTION]: ClientConnection };

/** A plain socket's shared-read callback (shared-reads.ts), one function for all: net calls it as the socket's method. */
export function readIntoConnection(this: net.Socket, length: number): boolean {
  return (this as OwnedSocket)[CONNECTION]._readShared(length);
}

function onData(this: net.Socket, chunk: Buffer): void {
  (this as OwnedSocket)[CONNECTION]._read(chunk);
}

function onDrain(this: net.Socket): void {
  (this as OwnedSocket)[CONNECTION]._drained();
}

function onClose(this: net.Socket): void {
  (this as OwnedSocket)[CONNECTION]._closed();
}

/**
 * The client shut its side. As node and Envoy do, that is taken as the
 * client leaving: a request under way is abandoned (its backend attempt
 * cancelled) rather than answered into a connection nobody may read.
 */
function onEnd(this: net.Socket): void {
  sendHeldNow(this);
  this.destroy();
}

function destroySocket(socket: net.Socket): void {
  socket.destroy();
}

function ignoreError(): void {}

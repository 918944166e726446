/**
 * The HTTP/2 side of an HTTP listener: a node:http2 server that never
 * listens itself. The listener keeps accepting connections and parsing
 * HTTP/1.1 with its own engine, and hands this one the connections that
 * speak HTTP/2: TLS ones that chose `h2` by ALPN, and plain ones that open
 * with the HTTP/2 preface (h2c with prior knowledge). Every session gets the
 * listener's limits as its SETTINGS (concurrent streams, header list size,
 * initial window), is closed gracefully (GOAWAY) after `idleTimeoutMs`
 * without a frame and without a stream open (a stream is timed on its own,
 * client-stream.ts, as an HTTP/1.1 connection waiting for its response is
 * not idle), and has a rapid-reset guard (reset-guard.ts) that cuts it off
 * with GOAWAY ENHANCE_YOUR_CALM. Each stream becomes a ClientStream answered by
 * the listener (an Exchange, like an HTTP/1.1 request). `close()` sends
 * GOAWAY to every session so streams under way finish and no new ones start;
 * `destroy()` ends what is left.
 */
import http2 from "node:http2";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "../../observability/logger.js";
import type { ProxyCounters } from "../proxy-counters.js";
import { ClientStream, type ClientStreamHost } from "./client-stream.js";
import { ResetGuard } from "./reset-guard.js";

export interface Http2Limits {
  /** Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Largest request header list in bytes, counted as HTTP/2 does (name + value + 32 per field). */
  maxHeaderListSize: number;
  /** The flow-control window of each stream the client sends on, in bytes (SETTINGS_INITIAL_WINDOW_SIZE). */
  initialWindowSize: number;
  /** More than `maxResets` streams reset by the client within `windowMs` close the connection. */
  rapidReset: { maxResets: number; windowMs: number };
}

/** What a listener sets: any of the limits, the others defaulted. */
export type Http2Options = Partial<Omit<Http2Limits, "rapidReset">> & {
  rapidReset?: Partial<Http2Limits["rapidReset"]>;
};

/**
 * HAProxy's and Envoy's stream limit of 100 (nginx: 128), the protocol's own
 * initial window, and a reset threshold far above what a browser cancelling
 * requests produces yet well under nghttp2's own (a burst of 1000): a rapid
 * reset attack sends thousands a second. The header list size defaults to
 * the listener's HTTP/1.1 head limit (maxHeaderSize).
 */
export const DEFAULT_HTTP2_LIMITS: Readonly<Omit<Http2Limits, "maxHeaderListSize">> = Object.freeze({
  maxConcurrentStreams: 100,
  initialWindowSize: 65_535,
  rapidReset: Object.freeze({ maxResets: 200, windowMs: 10_000 }),
});

/** What the sessions need from their listener. */
export interface Http2Host extends ClientStreamHost {
  readonly idleTimeoutMs: number;
  readonly counters: ProxyCounters;
  readonly logger: Logger;
  readonly closing: boolean;
}

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export class Http2Sessions {
  readonly #host: Http2Host;
  readonly #limits: Readonly<Http2Limits>;
  readonly #server: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();

  constructor(host: Http2Host, limits: Readonly<Http2Limits>) {
    this.#host = host;
    this.#limits = limits;
    this.#server = http2.createServer({
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderListSize,
        initialWindowSize: limits.initialWindowSize,
        // No server push, no extended CONNECT: a proxy's streams are requests.
        enablePush: false,
      },
    });
    this.#server.on("session", this.#onSession);
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** `socket` speaks HTTP/2 (TLS with ALPN h2, or plain bytes starting with the preface still unread). */
  accept(socket: net.Socket): void {
    this.#server.emit("connection", socket);
  }

  /** GOAWAY to every session: streams under way finish, new ones are refused. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  destroy(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #onSession = (session: http2.ServerHttp2Session): void => {
    const host = this.#host;
    this.#sessions.add(session);
    session.on("close", () => this.#sessions.delete(session));
    session.on("error", (error) => host.logger.debug({ err: error }, "HTTP/2 session failed"));
    let openStreams = 0;
    // Node's session timer restarts at each frame read or written, but not at a reset of ours
    // (a stalled upload, a client that stopped reading): the idle time counts from the last stream.
    const onStreamClosed = (): void => {
      if (--openStreams === 0 && !session.destroyed) session.setTimeout(host.idleTimeoutMs);
    };
    session.setTimeout(host.idleTimeoutMs);
    session.on("timeout", () => {
      if (openStreams === 0) session.close();
    });
    // Read now: the session's socket is unreachable once it closed, and the access log wants it later.
    const socket = { remoteAddress: session.socket.remoteAddress, encrypted: session.encrypted };
    const { maxResets, windowMs } = this.#limits.rapidReset;
    const maxHeaderListSize = this.#limits.maxHeaderListSize;
    const guard = new ResetGuard(maxResets, windowMs);
    const onClientReset = (): void => {
      if (session.destroyed || !guard.record(performance.now())) return;
      host.counters.http2RapidResetCloses++;
      host.logger.warn(
        { client: socket.remoteAddress, maxResets, windowMs },
        "HTTP/2 client reset too many streams (rapid reset), closing its connection",
      );
      // GOAWAY first: destroy() alone may close the socket before its own GOAWAY is out.
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    };
    // Node passes the header list as received fourth (its typings stop at three).
    const onStream = (
      stream: http2.ServerHttp2Stream,
      _headers: http2.IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ): void => {
      host.counters.http2Requests++;
      openStreams++;
      stream.once("close", onStreamClosed);
      new ClientStream(stream, flags, rawHeaders, socket, host.idleTimeoutMs, onClientReset).start(
        host,
        rawHeaders,
        maxHeaderListSize,
      );
    };
    session.on("stream", onStream);
    if (host.closing) session.close();
  };
}

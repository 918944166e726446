/**
 * Load probes over HTTP: `GET <path>` on the backend's origin, answered with
 * `{"rif": n, "latencyMs": x}`. Any other answer means the backend has no
 * probe endpoint; an error or the timeout means it did not answer this one.
 * Either way the caller falls back to what it observes itself. Probes are
 * frequent, so they ride kept-alive connections (a connection each would
 * cost more than the probe): the proxy's own HTTP/1.1 client, a
 * `ConnectionPool` per backend, or for a pool whose `backendProtocol` is
 * `h2` one HTTP/2 session per backend (h2c with prior knowledge to
 * `http://`, ALPN h2 to `https://`), so a backend that speaks only HTTP/2 is
 * probed as the proxy reaches it. Probes to `https://` backends speak TLS
 * with the pool's backend settings (CA, server name, verification).
 *
 * Not undici: at two probes per request (1,800 a second in the live A/B)
 * undici's allocations and AbortSignal.timeout (which lives out its full
 * timeout behind a weak reference) kept the proxy in young-generation GC
 * about ten times as long as its requests alone did, in pauses of 10 to
 * 30 ms that showed in the requests' p99. Each probe's timeout is a timer
 * cleared on its answer.
 */
import type { Backend, BackendProtocol } from "../core/backend.js";
import { BackendHttp2Client } from "../core/backend-http2-client.js";
import { parseJsonOrUndefined } from "../core/parse-json.js";
import {
  type ProbeMiss,
  type ProbeReply,
  type ProbeRequest,
  type ProbeTransport,
  toProbeReply,
} from "../core/probe.js";
import { defaultUpstreamTls, tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import { ConnectionPool } from "../http1/connection-pool.js";
import type { UpstreamHandler } from "../http1/upstream-handler.js";

/** Replies are a few dozen bytes; anything larger is not one. */
const BODY_LIMIT = 4096;
/** Kept-alive connections (HTTP/1.1) or streams (HTTP/2) per backend, and so probes carried at a time. */
const CONNECTIONS = 4;
/** Connections unused this long close, so those to backends that left do not linger. */
const KEEP_ALIVE_MS = 10_000;
/**
 * The connections' own limits (connect, response head, body), as undici's
 * defaults were: each probe is bounded by its own, shorter timeout.
 */
const CONNECT_TIMEOUT_MS = 10_000;

export class HttpProbes implements ProbeTransport {
  readonly maxInFlight = CONNECTIONS;
  /** HTTP/1.1 connections per origin, each made on the origin's first probe: most balancers never send one. */
  #pools = new Map<string, ConnectionPool>();
  #http2: BackendHttp2Client | undefined;
  readonly #tls: UpstreamTls | undefined;
  readonly #protocol: BackendProtocol;

  /**
   * `tls`: how to reach `https://` backends; default the system roots with full verification.
   * `protocol`: the pool's `backendProtocol`.
   */
  constructor(tls?: UpstreamTls, protocol: BackendProtocol = "http1") {
    this.#tls = tls;
    this.#protocol = protocol;
  }

  probe(backend: Backend, request: ProbeRequest, done: (reply: ProbeReply | ProbeMiss) => void): void {
    if (this.#protocol === "h2") {
      this.#overHttp2(backend, request, done);
      return;
    }
    const host = `${backend.host}:${backend.port}`;
    this.#pool(backend).dispatch(
      { method: "GET", path: request.path, headers: ["host", host], body: null },
      new Http1Probe(request.timeoutMs, done),
    );
  }

  /** HTTP/1.1 pools held: one per backend probed that has a connection open, or had until the next new one. */
  get pools(): number {
    return this.#pools.size;
  }

  async close(): Promise<void> {
    this.#http2?.close();
    this.#http2 = undefined;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const pool of pools) pool.destroy();
  }

  #pool(backend: Backend): ConnectionPool {
    let pool = this.#pools.get(backend.origin);
    if (pool === undefined) {
      // Pools with nothing open go (no socket or timer is left in them), so origins that came and
      // went with discovery do not pile up; one still in use is found again by its origin.
      for (const [origin, other] of this.#pools) if (other.open === 0) this.#pools.delete(origin);
      pool = new ConnectionPool(backend.host, backend.port, {
        maxConnections: CONNECTIONS,
        queueTimeoutMs: CONNECT_TIMEOUT_MS,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        headersTimeoutMs: CONNECT_TIMEOUT_MS,
        bodyTimeoutMs: CONNECT_TIMEOUT_MS,
        idleTimeoutMs: KEEP_ALIVE_MS,
        maxRequests: 0,
        tls: tlsConnectOptions(backend, this.#tls ?? defaultUpstreamTls()),
      });
      this.#pools.set(backend.origin, pool);
    }
    return pool;
  }

  #overHttp2(backend: Backend, request: ProbeRequest, done: (reply: ProbeReply | ProbeMiss) => void): void {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), request.timeoutMs).unref();
    this.#askHttp2(backend, request.path, deadline.signal)
      .catch((): ProbeMiss => "unanswered")
      .then((reply) => {
        clearTimeout(timer);
        done(reply);
      });
  }

  async #askHttp2(backend: Backend, path: string, signal: AbortSignal): Promise<ProbeReply | ProbeMiss> {
    this.#http2 ??= new BackendHttp2Client({
      tls: this.#tls ?? defaultUpstreamTls(),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      idleTimeoutMs: KEEP_ALIVE_MS,
    });
    const answer = await this.#http2.request(
      backend,
      { ":method": "GET", ":path": path },
      { signal, limit: BODY_LIMIT },
    );
    if (answer.status !== 200 || answer.truncated) return "unsupported";
    return toProbeReply(parseJsonOrUndefined(answer.body.toString("utf8"))) || "unsupported";
  }
}

/**
 * One probe over HTTP/1.1: the reply once the response ends, `unsupported`
 * for any other answer, `unanswered` on an error or when it has not ended
 * within `timeoutMs` (the attempt is then aborted).
 */
class Http1Probe implements UpstreamHandler {
  #timeoutMs: number;
  #done: ((reply: ProbeReply | ProbeMiss) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  #body: Buffer[] = [];
  #bytes = 0;

  constructor(timeoutMs: number, done: (reply: ProbeReply | ProbeMiss) => void) {
    this.#timeoutMs = timeoutMs;
    this.#done = done;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#timer = setTimeout(() => abort(), this.#timeoutMs).unref();
  }

  onHeaders(status: number): boolean {
    this.#status = status;
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Past the limit it is no reply: keep counting, stop keeping.
    this.#bytes += chunk.length;
    if (this.#bytes <= BODY_LIMIT) this.#body.push(chunk);
    return true;
  }

  onComplete(): void {
    const text = this.#bytes <= BODY_LIMIT ? Buffer.concat(this.#body).toString("utf8") : "";
    this.#finish((this.#status === 200 && toProbeReply(parseJsonOrUndefined(text))) || "unsupported");
  }

  onError(): void {
    this.#finish("unanswered");
  }

  #finish(reply: ProbeReply | ProbeMiss): void {
    clearTimeout(this.#timer);
    const done = this.#done;
    this.#done = undefined;
    done?.(reply);
  }
}

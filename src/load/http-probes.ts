/**
 * Load probes over HTTP: `GET <path>` on the backend's origin, answered with
 * `{"rif": n, "latencyMs": x}`. Any other answer means the backend has no
 * probe endpoint; an error or the timeout means it did not answer this one.
 * Either way the caller falls back to what it observes itself. Probes are
 * frequent, so they ride kept-alive connections (a connection each would
 * cost more than the probe): one undici Agent, or for a pool whose
 * `backendProtocol` is `h2` one HTTP/2 session per backend (h2c with prior
 * knowledge to `http://`, ALPN h2 to `https://`), so a backend that speaks
 * only HTTP/2 is probed as the proxy reaches it. Probes to `https://`
 * backends speak TLS with the pool's backend settings (CA, server name,
 * verification).
 */
import { Agent } from "undici";
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
import { defaultUpstreamTls, type UpstreamTls } from "../core/upstream-tls.js";

/** Replies are a few dozen bytes; anything larger is not one. */
const BODY_LIMIT = 4096;
/** Kept-alive connections (HTTP/1.1) or streams (HTTP/2) per backend, and so probes carried at a time. */
const CONNECTIONS = 4;
/** Connections unused this long close, so those to backends that left do not linger. */
const KEEP_ALIVE_MS = 10_000;
/** undici's default: opening a connection may take longer than one probe waits for its reply. */
const CONNECT_TIMEOUT_MS = 10_000;

export class HttpProbes implements ProbeTransport {
  readonly maxInFlight = CONNECTIONS;
  #agent: Agent | undefined;
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
    const signal = AbortSignal.timeout(request.timeoutMs);
    const reply =
      this.#protocol === "h2"
        ? this.#overHttp2(backend, request.path, signal)
        : this.#overHttp1(backend, request.path, signal);
    reply.then(done, () => done("unanswered"));
  }

  async close(): Promise<void> {
    this.#http2?.close();
    this.#http2 = undefined;
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.destroy();
  }

  async #overHttp1(backend: Backend, path: string, signal: AbortSignal): Promise<ProbeReply | ProbeMiss> {
    // Created on the first probe: most balancers never send one.
    this.#agent ??= new Agent({
      keepAliveTimeout: KEEP_ALIVE_MS,
      connections: CONNECTIONS,
      connect: this.#connectOptions(),
    });
    const response = await this.#agent.request({ origin: backend.origin, path, method: "GET", signal });
    if (response.statusCode !== 200) {
      await response.body.dump({ limit: BODY_LIMIT });
      return "unsupported";
    }
    const text = await response.body.text();
    return (text.length <= BODY_LIMIT && toProbeReply(parseJsonOrUndefined(text))) || "unsupported";
  }

  async #overHttp2(backend: Backend, path: string, signal: AbortSignal): Promise<ProbeReply | ProbeMiss> {
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

  #connectOptions() {
    const tls = this.#tls;
    if (tls === undefined) return undefined;
    return {
      secureContext: tls.secureContext,
      rejectUnauthorized: tls.verify,
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    };
  }
}

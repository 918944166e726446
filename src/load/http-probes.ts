/**
 * Load probes over HTTP: `GET <path>` on the backend's origin through one
 * kept-alive undici Agent (probes are frequent; a connection each would cost
 * more than the probe), answered with `{"rif": n, "latencyMs": x}`. Any
 * other answer means the backend has no probe endpoint; an error or the
 * timeout means it did not answer this one. Either way the caller falls
 * back to what it observes itself. Probes to `https://` backends speak
 * TLS with the pool's backend settings (CA, server name, verification).
 */
import { Agent } from "undici";
import type { Backend } from "../core/backend.js";
import { parseJsonOrUndefined } from "../core/parse-json.js";
import {
  type ProbeMiss,
  type ProbeReply,
  type ProbeRequest,
  type ProbeTransport,
  toProbeReply,
} from "../core/probe.js";
import type { UpstreamTls } from "../core/upstream-tls.js";

/** Replies are a few dozen bytes; anything larger is not one. */
const BODY_LIMIT = 4096;
/** Kept-alive connections per backend, and so probes carried at a time. */
const CONNECTIONS = 4;

export class HttpProbes implements ProbeTransport {
  readonly maxInFlight = CONNECTIONS;
  #agent: Agent | undefined;
  readonly #tls: UpstreamTls | undefined;

  /** `tls`: how to reach `https://` backends; default the system roots with full verification. */
  constructor(tls?: UpstreamTls) {
    this.#tls = tls;
  }

  probe(backend: Backend, request: ProbeRequest, done: (reply: ProbeReply | ProbeMiss) => void): void {
    // Created on the first probe: most balancers never send one.
    this.#agent ??= new Agent({
      keepAliveTimeout: 10_000,
      connections: CONNECTIONS,
      connect: this.#connectOptions(),
    });
    const signal = AbortSignal.timeout(request.timeoutMs);
    this.#agent
      .request({ origin: backend.origin, path: request.path, method: "GET", signal })
      .then(async (response): Promise<ProbeReply | ProbeMiss> => {
        if (response.statusCode !== 200) {
          await response.body.dump({ limit: BODY_LIMIT });
          return "unsupported";
        }
        const text = await response.body.text();
        return (text.length <= BODY_LIMIT && toProbeReply(parseJsonOrUndefined(text))) || "unsupported";
      })
      .then(done, () => done("unanswered"));
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

  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.destroy();
  }
}

/**
 * HTTP health check: `METHOD path` against the backend's origin, passing when
 * the status is one of the expected ones (default 200-399) and, if `body` is
 * set, the response body contains it; configured `headers` go with every
 * request; an `https://` backend is checked over TLS with the pool's
 * backend TLS settings, so a certificate the proxy would refuse fails the
 * check too. To a pool whose `backendProtocol` is `h2` the check speaks
 * HTTP/2 as the proxy does (h2c with prior knowledge to `http://`, ALPN h2 to
 * `https://`; Envoy's `codec_client_type: HTTP2`, HAProxy's `check-proto
 * h2`), so a backend that speaks only HTTP/2 is not marked down. One
 * kept-alive connection per backend (a small undici `Client`, or an HTTP/2
 * session), so frequent checks do not churn sockets, closed when the backend
 * leaves the pool or checking stops.
 */
import type http2 from "node:http2";
import { Client } from "undici";
import type { Backend, BackendProtocol } from "../core/backend.js";
import { BackendHttp2Client } from "../core/backend-http2-client.js";
import { toHttp2Headers } from "../core/http2-headers.js";
import { tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import type { CheckOutcome, HealthCheck } from "./check.js";
import { type HealthCheckSettings, parseStatusRanges } from "./health-options.js";

/** Bodies are read up to this size when a body match is configured; the rest is discarded. */
const BODY_LIMIT = 64 * 1024;

export type HttpCheckSettings = Pick<
  HealthCheckSettings,
  "path" | "method" | "expectStatus" | "timeoutMs" | "body" | "headers"
>;

/** How an `h2` pool is checked: its sessions, and the request's fields. */
interface Http2Route {
  client: BackendHttp2Client;
  headers: http2.OutgoingHttpHeaders;
}

export class HttpHealthCheck implements HealthCheck {
  readonly kind = "http";
  #settings: HttpCheckSettings;
  #ranges: [number, number][];
  #headers: Record<string, string>;
  #clients = new Map<Backend, Client>();
  #tls: UpstreamTls;
  #http2: Http2Route | undefined;

  constructor(settings: HttpCheckSettings, tls: UpstreamTls, protocol: BackendProtocol = "http1") {
    this.#settings = settings;
    this.#tls = tls;
    this.#ranges = parseStatusRanges(settings.expectStatus) ?? [[200, 399]];
    // Names lower-cased, so a configured User-Agent replaces ours rather than adding a second one.
    this.#headers = { "user-agent": "switchyard-health-check" };
    for (const [name, value] of Object.entries(settings.headers ?? {}))
      this.#headers[name.toLowerCase()] = value;
    if (protocol === "h2") {
      // Host becomes :authority (node sends the backend's host:port without one), as the proxy does.
      const { host, ...rest } = this.#headers;
      const headers = toHttp2Headers(Object.entries(rest).flat(), {
        ":method": settings.method,
        ":path": settings.path,
        ...(host === undefined ? {} : { ":authority": host }),
      });
      this.#http2 = {
        client: new BackendHttp2Client({
          tls,
          connectTimeoutMs: settings.timeoutMs,
          abortDestroysSession: true,
        }),
        headers,
      };
    }
  }

  async check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    const { status, text } =
      this.#http2 === undefined
        ? await this.#overHttp1(backend, signal)
        : await this.#overHttp2(this.#http2, backend, signal);
    const { body } = this.#settings;
    if (text === undefined || body === undefined)
      return { ok: this.#statusOk(status), detail: `HTTP ${status}` };
    return text.includes(body)
      ? { ok: true, detail: `HTTP ${status}` }
      : { ok: false, detail: `HTTP ${status}, body lacks ${JSON.stringify(body)}` };
  }

  release(backend: Backend): void {
    this.#http2?.client.release(backend);
    const client = this.#clients.get(backend);
    if (!client) return;
    this.#clients.delete(backend);
    void client.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#http2?.client.close();
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map((client) => client.destroy()));
  }

  #statusOk(status: number): boolean {
    return this.#ranges.some(([low, high]) => status >= low && status <= high);
  }

  /** The status, and the body's first bytes when a body match is configured and the status passes. */
  async #overHttp1(backend: Backend, signal: AbortSignal): Promise<{ status: number; text?: string }> {
    const { path, method, body } = this.#settings;
    const response = await this.#client(backend).request({ path, method, signal, headers: this.#headers });
    const status = response.statusCode;
    if (body === undefined || !this.#statusOk(status)) {
      await response.body.dump({ limit: BODY_LIMIT }).catch(() => undefined);
      return { status };
    }
    return { status, text: await readText(response.body, BODY_LIMIT) };
  }

  /** Likewise, on a stream of the backend's HTTP/2 session. */
  async #overHttp2(
    { client, headers }: Http2Route,
    backend: Backend,
    signal: AbortSignal,
  ): Promise<{ status: number; text?: string }> {
    const answer = await client.request(backend, headers, { signal, limit: BODY_LIMIT });
    if (this.#settings.body === undefined || !this.#statusOk(answer.status)) return { status: answer.status };
    return { status: answer.status, text: answer.body.toString("utf8") };
  }

  #client(backend: Backend): Client {
    let client = this.#clients.get(backend);
    if (!client) {
      const timeout = this.#settings.timeoutMs;
      client = new Client(backend.origin, {
        connectTimeout: timeout,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        pipelining: 1,
        connect: tlsConnectOptions(backend, this.#tls),
      });
      this.#clients.set(backend, client);
    }
    return client;
  }
}

async function readText(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

/**
 * HTTP health check: `METHOD path` against the backend's origin, passing when
 * the status is one of the expected ones (default 200-399) and, if `body` is
 * set, the response body contains it; configured `headers` go with every
 * request; an `https://` backend is checked over TLS with the pool's
 * backend TLS settings, so a certificate the proxy would refuse fails the
 * check too. One small undici `Client` per backend
 * (one kept-alive connection, so frequent checks do not churn sockets), closed
 * when the backend leaves the pool or checking stops.
 */
import { Client } from "undici";
import type { Backend } from "../core/backend.js";
import { tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import type { CheckOutcome, HealthCheck } from "./check.js";
import { type HealthCheckSettings, parseStatusRanges } from "./health-options.js";

/** Bodies are read up to this size when a body match is configured; the rest is discarded. */
const BODY_LIMIT = 64 * 1024;

export type HttpCheckSettings = Pick<
  HealthCheckSettings,
  "path" | "method" | "expectStatus" | "timeoutMs" | "body" | "headers"
>;

export class HttpHealthCheck implements HealthCheck {
  readonly kind = "http";
  #settings: HttpCheckSettings;
  #ranges: [number, number][];
  #headers: Record<string, string>;
  #clients = new Map<Backend, Client>();
  #tls: UpstreamTls;

  constructor(settings: HttpCheckSettings, tls: UpstreamTls) {
    this.#settings = settings;
    this.#tls = tls;
    this.#ranges = parseStatusRanges(settings.expectStatus) ?? [[200, 399]];
    // Names lower-cased, so a configured User-Agent replaces ours rather than adding a second one.
    this.#headers = { "user-agent": "switchyard-health-check" };
    for (const [name, value] of Object.entries(settings.headers ?? {}))
      this.#headers[name.toLowerCase()] = value;
  }

  async check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    const { path, method, body } = this.#settings;
    const response = await this.#client(backend).request({
      path,
      method,
      signal,
      headers: this.#headers,
    });
    const status = response.statusCode;
    const statusOk = this.#ranges.some(([low, high]) => status >= low && status <= high);
    if (body === undefined || !statusOk) {
      await response.body.dump({ limit: BODY_LIMIT }).catch(() => undefined);
      return { ok: statusOk, detail: `HTTP ${status}` };
    }
    const text = await readText(response.body, BODY_LIMIT);
    return text.includes(body)
      ? { ok: true, detail: `HTTP ${status}` }
      : { ok: false, detail: `HTTP ${status}, body lacks ${JSON.stringify(body)}` };
  }

  release(backend: Backend): void {
    const client = this.#clients.get(backend);
    if (!client) return;
    this.#clients.delete(backend);
    void client.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map((client) => client.destroy()));
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

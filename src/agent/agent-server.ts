/**
 * The monitoring agent's HTTP API (SwarmGuard, default port 8082):
 * - `GET /metrics/containers`: the sampler's latest report, per container
 *   (or process) CPU percent, memory percent and bytes, network rx/tx bytes
 *   per second, with the node name and the sample time;
 * - `GET /health`: `{ status: "ok" }` plus the sampler's status (source,
 *   entries, when the last sample was taken and how long it took).
 * Both answer from memory; sampling runs on its own interval. Anything else
 * is 404 (or 405 for another method), as JSON.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Sampler } from "./sampler.js";

export const DEFAULT_AGENT_PORT = 8082;

export interface AgentServerOptions {
  sampler: Sampler;
  host?: string;
  /** Default 8082; 0 lets the OS choose. */
  port?: number;
}

export class AgentServer {
  readonly sampler: Sampler;
  #host: string;
  #port: number;
  #server: http.Server;

  constructor(options: AgentServerOptions) {
    this.sampler = options.sampler;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? DEFAULT_AGENT_PORT;
    this.#server = http.createServer((request, response) => this.#handle(request, response));
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Starts sampling and listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.sampler.start();
    const address = this.#server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  async close(): Promise<void> {
    this.sampler.stop();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0];
    const headOnly = request.method === "HEAD";
    if (path !== "/metrics/containers" && path !== "/health") {
      send(response, 404, { error: "not found", paths: ["/metrics/containers", "/health"] });
    } else if (request.method !== "GET" && !headOnly) {
      response.setHeader("allow", "GET, HEAD");
      send(response, 405, { error: "method not allowed" });
    } else if (path === "/health") {
      send(response, 200, { status: "ok", node: this.sampler.node, ...this.sampler.status() }, headOnly);
    } else {
      send(response, 200, this.sampler.report(), headOnly);
    }
  }
}

function send(response: http.ServerResponse, status: number, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  response.end(headOnly ? undefined : text);
}

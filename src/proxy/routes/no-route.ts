/**
 * The answer of a listener without a default pool to a request none of its
 * routes took: 404 SY_ERR_NO_ROUTE from the proxy itself, counted like the
 * other errors it answers and written to the access log (with no route).
 */
import { performance } from "node:perf_hooks";
import { ErrorCodes } from "../../core/errors.js";
import type { ProxyRequest, ResponseOwner, ResponseWriter } from "../client-side.js";
import { proxyError, sendErrorResponse } from "../error-responses.js";
import type { ExchangeHost } from "../exchange.js";

const NO_ROUTE = proxyError(ErrorCodes.NO_ROUTE);

export class NoRoute implements ResponseOwner {
  readonly #host: ExchangeHost;
  readonly #request: ProxyRequest;
  readonly #connection: ResponseWriter;
  readonly #receivedAt = performance.now();

  constructor(host: ExchangeHost, request: ProxyRequest, connection: ResponseWriter) {
    this.#host = host;
    this.#request = request;
    this.#connection = connection;
  }

  start(): void {
    const counters = this.#host.counters;
    counters.requests++;
    counters.error(ErrorCodes.NO_ROUTE);
    // The body is not wanted; closing beats reading an upload only to drop it.
    if (!this.#request.complete) this.#connection.closeAfterResponse();
    counters.response(sendErrorResponse(this.#connection, this.#request, NO_ROUTE));
  }

  clientClosed(): void {
    const host = this.#host;
    host._released();
    const request = this.#request;
    host.accessLog?.record({
      listener: host.name,
      protocol: request.protocol,
      method: request.method,
      path: request.url,
      status: this.#connection.status,
      latencyMs: performance.now() - this.#receivedAt,
      backend: undefined,
      attempts: 0,
      algorithm: undefined,
      code: ErrorCodes.NO_ROUTE,
      clientIp: request.socket.remoteAddress,
    });
  }

  clientDrained(): void {}
}

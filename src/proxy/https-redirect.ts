/**
 * The answer of a plain HTTP listener set to send its clients to HTTPS
 * (HAProxy's `redirect scheme https`, Traefik's redirectScheme): 308, so the
 * method and body are kept on the second try, to the same host and target
 * on the `https` scheme, with the port when it is not 443. No backend is
 * asked. A request without a Host (HTTP/1.0) cannot be sent anywhere: 400.
 */
import { ErrorCodes } from "../core/errors.js";
import { sendErrorResponse } from "./error-responses.js";
import type { ClientConnection, ResponseOwner } from "./http1/client-connection.js";
import type { ClientRequest } from "./http1/client-request.js";
import type { ProxyCounters } from "./proxy-counters.js";

export interface RedirectHost {
  readonly counters: ProxyCounters;
  /** Called once, when the answer is out or the client left. */
  _released(): void;
}

export class HttpsRedirect implements ResponseOwner {
  readonly #host: RedirectHost;
  readonly #request: ClientRequest;
  readonly #connection: ClientConnection;
  readonly #port: number;

  constructor(host: RedirectHost, request: ClientRequest, connection: ClientConnection, port: number) {
    this.#host = host;
    this.#request = request;
    this.#connection = connection;
    this.#port = port;
  }

  start(): void {
    const connection = this.#connection;
    const counters = this.#host.counters;
    counters.requests++;
    // The body is not wanted; closing beats reading an upload only to drop it.
    if (!this.#request.complete) connection.closeAfterResponse();
    const host = this.#request.headers.host;
    if (typeof host !== "string") {
      counters.error(ErrorCodes.BAD_REQUEST);
      counters.response(400);
      sendErrorResponse(connection, 400, ErrorCodes.BAD_REQUEST, "a redirect to HTTPS needs a Host header");
      return;
    }
    counters.response(308);
    const location = `https://${hostname(host)}${this.#port === 443 ? "" : `:${this.#port}`}${this.#request.url}`;
    connection.writeHead(308, undefined, ["location", location, "content-length", "0"]);
    connection.end(null);
  }

  clientClosed(): void {
    this.#host._released();
  }

  clientDrained(): void {}
}

/** The Host header without its port (`[v6]` kept bracketed). */
function hostname(host: string): string {
  const end = host.startsWith("[") ? host.indexOf("]") + 1 : host.lastIndexOf(":");
  return end > 0 ? host.slice(0, end) : host;
}

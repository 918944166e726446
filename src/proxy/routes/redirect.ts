/**
 * A redirect answered by the proxy itself, no backend asked: a route's
 * `redirect` (Envoy's redirect action, Traefik's redirectRegex/Scheme,
 * HAProxy's `redirect`), and a plain listener's `redirectToHttps`
 * (`{ scheme: "https", status: 308 }`). The location keeps what the target
 * does not replace: the scheme the client used, the Host header (with its
 * port, unless the scheme or host changes), the path and the query (a new
 * `path` keeps the query). A request without a Host header cannot be sent
 * anywhere unless the target names a host: 400. gRPC clients do not follow
 * redirects, so a gRPC call gets a failed call instead (SY_ERR_REDIRECTED,
 * grpc-status UNKNOWN as for any 3xx, the Location kept), as Envoy's local
 * reply does; gRPC-Web is left the redirect, which browsers follow.
 */
import { ErrorCodes } from "../../core/errors.js";
import type { ProxyRequest, ResponseOwner, ResponseWriter } from "../client-side.js";
import { proxyError, sendErrorResponse } from "../error-responses.js";
import { grpcKind } from "../grpc-status.js";
import type { ProxyCounters } from "../proxy-counters.js";
import { withoutPort } from "./route-match.js";

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

export interface RedirectTarget {
  scheme?: "http" | "https";
  host?: string;
  port?: number;
  /** Replaces the path; the query is kept. */
  path?: string;
  /** Default 302. */
  status?: RedirectStatus;
}

export interface RedirectHost {
  readonly counters: ProxyCounters;
  /** Called once, when the answer is out or the client left. */
  _released(): void;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
const NO_HOST = proxyError(ErrorCodes.BAD_REQUEST, "a redirect needs a Host header");

/** The Location for `request` under `target`; undefined when there is no host to send it to. */
export function redirectLocation(
  target: RedirectTarget,
  request: ProxyRequest,
  encrypted: boolean,
): string | undefined {
  const clientScheme = encrypted ? "https" : "http";
  const scheme = target.scheme ?? clientScheme;
  const header = request.headers.host;
  let authority: string;
  if (target.host === undefined && target.port === undefined && scheme === clientScheme) {
    if (typeof header !== "string") return undefined;
    authority = header;
  } else {
    const host = target.host ?? (typeof header === "string" ? withoutPort(header) : undefined);
    if (host === undefined) return undefined;
    const port = target.port;
    authority = port === undefined || port === DEFAULT_PORTS[scheme] ? host : `${host}:${port}`;
  }
  const url = request.url;
  const query = url.indexOf("?");
  const path = target.path === undefined ? url : target.path + (query < 0 ? "" : url.slice(query));
  return `${scheme}://${authority}${path}`;
}

/** `target` in one short line for people: `301 → https://login.test/form`; parts kept from the request are left out. */
export function describeRedirect(target: RedirectTarget): string {
  const authority = (target.host ?? "") + (target.port === undefined ? "" : `:${target.port}`);
  const scheme =
    target.scheme === undefined ? "" : authority === "" ? `${target.scheme}:` : `${target.scheme}://`;
  return `${target.status ?? 302} → ${scheme}${authority}${target.path ?? ""}`;
}

export class Redirect implements ResponseOwner {
  readonly #host: RedirectHost;
  readonly #request: ProxyRequest;
  readonly #connection: ResponseWriter;
  readonly #target: RedirectTarget;

  constructor(host: RedirectHost, request: ProxyRequest, connection: ResponseWriter, target: RedirectTarget) {
    this.#host = host;
    this.#request = request;
    this.#connection = connection;
    this.#target = target;
  }

  start(): void {
    const connection = this.#connection;
    const counters = this.#host.counters;
    counters.requests++;
    // The body is not wanted; closing beats reading an upload only to drop it.
    if (!this.#request.complete) connection.closeAfterResponse();
    const encrypted = this.#request.socket.encrypted === true;
    const location = redirectLocation(this.#target, this.#request, encrypted);
    if (location === undefined) {
      counters.error(ErrorCodes.BAD_REQUEST);
      counters.response(sendErrorResponse(connection, this.#request, NO_HOST));
      return;
    }
    const status = this.#target.status ?? 302;
    if (grpcKind(this.#request.headers) === "grpc") {
      const message = `redirected to ${location}; gRPC clients do not follow redirects`;
      const redirected = { ...proxyError(ErrorCodes.REDIRECTED, message), status };
      counters.error(ErrorCodes.REDIRECTED);
      counters.response(sendErrorResponse(connection, this.#request, redirected, ["location", location]));
      return;
    }
    counters.response(status);
    connection.writeHead(status, undefined, ["location", location, "content-length", "0"]);
    connection.end(null);
  }

  clientClosed(): void {
    this.#host._released();
  }

  clientDrained(): void {}
}

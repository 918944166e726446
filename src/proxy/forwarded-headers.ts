/**
 * Header rewriting for the HTTP proxy, one pass per message. Requests: the
 * client's raw header list (`req.rawHeaders`) becomes the upstream list with
 * hop-by-hop fields dropped (Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade and every field the Connection header names, RFC
 * 9110 §7.6.1), `Expect` dropped (the client connection answers `100-continue`),
 * and the forwarding fields added: X-Forwarded-For (appended), X-Forwarded-Proto,
 * X-Forwarded-Host (replaced: a client cannot vouch for them) and RFC 7239
 * `Forwarded` (appended). Responses: the backend's raw header list becomes the
 * flat `[name, value, ...]` list the client connection writes, hop-by-hop dropped, so
 * repeated fields (Set-Cookie) keep their order and count. Names keep the case
 * the peer sent; comparisons are case-insensitive.
 */

import { isNamed, startsNamed } from "../http1/header-names.js";
import { isToken } from "../http1/http-token.js";

/** How a request header is treated (requestHeaderKind). */
const FORWARD = 0;
const DROP = 1;
const CONNECTION = 2;
const HOST = 3;
const CONTENT_LENGTH = 4;
const TRANSFER_ENCODING = 5;
const X_FORWARDED_FOR = 6;
const FORWARDED = 7;

/** What the proxy does with a request field named `name` (any case); a switch on the length, as most fields are none of these. */
function requestHeaderKind(name: string): number {
  switch (name.length) {
    case 4:
      if (isNamed(name, "host")) return HOST;
      break;
    case 9:
      if (isNamed(name, "forwarded")) return FORWARDED;
      break;
    case 10:
      if (isNamed(name, "connection")) return CONNECTION;
      break;
    case 14:
      if (isNamed(name, "content-length")) return CONTENT_LENGTH;
      break;
    case 15:
      if (isNamed(name, "x-forwarded-for")) return X_FORWARDED_FOR;
      break;
    case 16:
      if (isNamed(name, "x-forwarded-host")) return DROP;
      break;
    case 17:
      if (isNamed(name, "transfer-encoding")) return TRANSFER_ENCODING;
      if (isNamed(name, "x-forwarded-proto")) return DROP;
      break;
  }
  // Expect too: the client connection answers `100-continue` itself.
  return isHopByHop(name) || isNamed(name, "expect") ? DROP : FORWARD;
}

/** True for hop-by-hop header names, in any case: the fixed list (RFC 9110 §7.6.1) and `Proxy-*`. */
export function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      if (isNamed(name, "te")) return true;
      break;
    case 7:
      if (isNamed(name, "trailer") || isNamed(name, "upgrade")) return true;
      break;
    case 10:
      if (isNamed(name, "connection") || isNamed(name, "keep-alive")) return true;
      break;
    case 17:
      if (isNamed(name, "transfer-encoding")) return true;
      break;
  }
  return name.length > 6 && startsNamed(name, "proxy-");
}

/**
 * Connection options never used to drop a field: the three that are plain
 * options, and the fields message framing and routing depend on (a client must
 * not strip Host or Content-Length by naming them).
 */
function isNotNominable(option: string): boolean {
  return (
    isNamed(option, "keep-alive") ||
    isNamed(option, "close") ||
    isNamed(option, "upgrade") ||
    isNamed(option, "host") ||
    isNamed(option, "content-length")
  );
}

/** The upstream view of a client request head. */
export interface UpstreamRequestHead {
  /** Flat `[name, value, ...]` list for the upstream request. */
  headers: string[];
  /** The client's Host header, forwarded unchanged; undefined when absent. */
  host: string | undefined;
  /** True when the request carries a body (a non-zero Content-Length or Transfer-Encoding). */
  hasBody: boolean;
  /** Set when the head must be refused with 400 (e.g. two Host headers). */
  invalid: string | undefined;
}

/**
 * Builds the upstream header list from `rawHeaders` in one pass. `clientIp` is
 * the peer address (undefined if unknown), `proto` the scheme the client used.
 */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  clientIp: string | undefined,
  proto: string,
): UpstreamRequestHead {
  const headers: string[] = [];
  let host: string | undefined;
  let hostCount = 0;
  let hasBody = false;
  let forwardedFor: string | undefined;
  let forwarded: string | undefined;
  let nominated: string[] | undefined;

  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const kind = requestHeaderKind(name);
    if (kind === FORWARD) {
      headers.push(name, value);
      continue;
    }
    switch (kind) {
      case HOST:
        hostCount++;
        host = value;
        headers.push(name, value);
        break;
      case CONTENT_LENGTH:
        if (value !== "0") hasBody = true;
        headers.push(name, value);
        break;
      case TRANSFER_ENCODING:
        hasBody = true;
        break;
      case CONNECTION:
        nominated = collectConnectionOptions(value, nominated);
        break;
      case X_FORWARDED_FOR:
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case FORWARDED:
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        break;
      default:
        break;
    }
  }

  const result: UpstreamRequestHead = {
    headers: nominated === undefined ? headers : withoutNominated(headers, nominated),
    host,
    hasBody,
    invalid: hostCount > 1 ? "more than one Host header" : undefined,
  };
  const out = result.headers;
  if (clientIp !== undefined) {
    out.push("x-forwarded-for", forwardedFor === undefined ? clientIp : `${forwardedFor}, ${clientIp}`);
  } else if (forwardedFor !== undefined) {
    out.push("x-forwarded-for", forwardedFor);
  }
  out.push("x-forwarded-proto", proto);
  if (host !== undefined) out.push("x-forwarded-host", host);
  const element = lastElement(clientIp, proto, host);
  out.push("forwarded", forwarded === undefined ? element : `${forwarded}, ${element}`);
  return result;
}

/**
 * Converts a backend's raw response headers (or trailers) to the flat list
 * the client connection writes, dropping hop-by-hop fields. Bytes map 1:1
 * (latin1).
 */
export function buildResponseHeaders(raw: readonly (Buffer | string)[]): string[] {
  const headers: string[] = [];
  let nominated: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i] as Buffer | string);
    if (!isHopByHop(name)) headers.push(name, latin1(raw[i + 1] as Buffer | string));
    else if (isNamed(name, "connection")) {
      nominated = collectConnectionOptions(latin1(raw[i + 1] as Buffer | string), nominated);
    }
  }
  return nominated === undefined ? headers : withoutNominated(headers, nominated);
}

/**
 * The `Forwarded` element of the request before, when this one comes from the
 * same client with the same scheme and Host, as a keep-alive connection's
 * requests do: one string kept instead of five built per request.
 */
const last = {
  clientIp: undefined as string | undefined,
  proto: "",
  host: undefined as string | undefined,
  element: "",
};

function lastElement(clientIp: string | undefined, proto: string, host: string | undefined): string {
  if (clientIp !== last.clientIp || proto !== last.proto || host !== last.host) {
    last.clientIp = clientIp;
    last.proto = proto;
    last.host = host;
    last.element = forwardedElement(clientIp, proto, host);
  }
  return last.element;
}

/** One RFC 7239 `Forwarded` element: `for=...;proto=...;host=...`. */
export function forwardedElement(
  clientIp: string | undefined,
  proto: string,
  host: string | undefined,
): string {
  let element = `for=${forwardedNode(clientIp)};proto=${quoteIfNeeded(proto)}`;
  if (host !== undefined && host !== "") element += `;host=${quoteIfNeeded(host)}`;
  return element;
}

/** A node identifier for `Forwarded`: IPv4 bare, IPv6 bracketed and quoted, `unknown` when absent. */
export function forwardedNode(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "unknown";
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/** A token as it is; anything else as a quoted-string (RFC 7239 §4). */
function quoteIfNeeded(value: string): string {
  if (isToken(value)) return value;
  // The usual Host (`name:port`) has nothing to escape: no regex replace per request.
  if (!value.includes('"') && !value.includes("\\")) return `"${value}"`;
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

function latin1(value: Buffer | string): string {
  return typeof value === "string" ? value : value.toString("latin1");
}

function collectConnectionOptions(value: string, into: string[] | undefined): string[] | undefined {
  // The common case, a single plain option, needs no split.
  if (isNotNominable(value)) return into;
  let list = into;
  for (const part of value.split(",")) {
    const option = part.trim().toLowerCase();
    if (option === "" || isNotNominable(option)) continue;
    list ??= [];
    list.push(option);
  }
  return list;
}

/** Drops headers named by Connection options (rare, so a second pass is fine). */
function withoutNominated(headers: string[], nominated: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!nominated.includes(name.toLowerCase())) kept.push(name, headers[i + 1] as string);
  }
  return kept;
}

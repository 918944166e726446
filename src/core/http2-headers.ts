/**
 * Header lists between the proxy's flat `[name, value, ...]` form and
 * node:http2's header objects, for both directions of both sides (and for
 * HTTP health checks' configured headers to `h2` backends): names
 * lower-cased, the connection-specific fields HTTP/2 forbids dropped (RFC
 * 9113 §8.2.2; node refuses to send them), repeated fields kept as node
 * wants them.
 */
import type http2 from "node:http2";

/** Fields HTTP/2 forbids in a message; `te` is allowed with the value `trailers` only. */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "http2-settings",
]);

/**
 * Adds a flat list to an HTTP/2 header object: Set-Cookie kept as a list,
 * Cookie joined with "; " (RFC 9113 §8.2.3), other repeated fields with ", ".
 */
export function toHttp2Headers(
  list: readonly string[],
  out: http2.OutgoingHttpHeaders,
): http2.OutgoingHttpHeaders {
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const value = list[i + 1] as string;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else if (name === "set-cookie") out[name] = [seen as string, value];
    else out[name] = `${seen as string}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return out;
}

/** A received header object as a flat list, pseudo-fields left out; a field node joined or listed stays so. */
export function fromHttp2Headers(headers: http2.IncomingHttpHeaders): string[] {
  const list: string[] = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) list.push(name, item);
    else if (value !== undefined) list.push(name, value);
  }
  return list;
}

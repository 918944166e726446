/**
 * What a rate limit counts by: the client's address (the default), a request
 * header, or the route. The client address is the peer's, or, when the peer
 * is one of `trustedProxies`, the client it forwarded (the rightmost
 * X-Forwarded-For address that is not a trusted proxy). A header key counts
 * each value apart; a request without the header is counted by its client
 * address instead, so clients without it do not all share one bucket (that
 * address key starts with a line feed, which no header value holds, so a
 * header cannot name another client's bucket). Values longer than 128 characters are keyed by their SHA-256,
 * so the table's memory stays bounded by its key count.
 */
import { createHash } from "node:crypto";
import { forwardedClient } from "../../core/forwarded-client.js";
import { unmapIpv4 } from "../../core/ipv4-mapped.js";
import { CidrMatcher, parseCidr } from "../../geo/cidr.js";
import type { HeaderObject } from "../http1/client-request.js";

export type RateLimitKeySpec = "client-ip" | "route" | { header: string };

/**
 * A request's key from the peer's address (IPv4-mapped IPv6 already reduced
 * to IPv4; undefined once the socket closed), its headers and the name of the
 * route that took it. Plain arguments: no object per request.
 */
export type RateLimitKey = (clientIp: string | undefined, headers: HeaderObject, route: string) => string;

const LONGEST_PLAIN_KEY = 128;

/** Compiles `spec`; `trustedProxies` are IPs or CIDR blocks (parseCidr throws on a bad one). */
export function compileRateLimitKey(
  spec: RateLimitKeySpec,
  trustedProxies: readonly string[] = [],
): RateLimitKey {
  if (spec === "route") return (_clientIp, _headers, route) => route;
  const clientKey = clientAddressKey(trustedProxies);
  if (spec === "client-ip") return clientKey;
  const name = spec.header.toLowerCase();
  return (clientIp, headers, route) => {
    const value = headers[name];
    const text = typeof value === "string" ? value : value?.join(",");
    if (!text) return `\n${clientKey(clientIp, headers, route)}`;
    return text.length > LONGEST_PLAIN_KEY ? createHash("sha256").update(text).digest("base64") : text;
  };
}

function clientAddressKey(trustedProxies: readonly string[]): RateLimitKey {
  if (trustedProxies.length === 0) return (clientIp) => clientIp ?? "";
  const trusted = new CidrMatcher(
    trustedProxies.map((cidr) => ({ block: parseCidr(cidr), value: true as const })),
  );
  const isTrusted = (address: string): boolean => trusted.has(address);
  return (clientIp, headers) => {
    const peer = clientIp ?? "";
    if (!trusted.has(peer)) return peer;
    const forwarded = forwardedClient(headers["x-forwarded-for"], isTrusted);
    return forwarded === undefined ? peer : unmapIpv4(forwarded);
  };
}

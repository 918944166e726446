/**
 * One client address, one form: a dual-stack listener reports an IPv4 peer
 * as `::ffff:10.0.0.1`, which hashes, matches CIDR blocks and logs as its
 * IPv4 form `10.0.0.1`, whichever way the client arrived.
 */

/** The IPv4 form of an IPv4-mapped IPv6 address; any other address, or none, unchanged. */
export function unmapIpv4(ip: string): string;
export function unmapIpv4(ip: string | undefined): string | undefined;
export function unmapIpv4(ip: string | undefined): string | undefined {
  return ip?.startsWith("::ffff:") && ip.includes(".", 7) ? ip.slice(7) : ip;
}

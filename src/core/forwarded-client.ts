/**
 * The client behind trusted proxies. Each proxy appends the peer it saw to
 * X-Forwarded-For, so reading from the right, the first address that is not a
 * trusted proxy is the last one a trusted hop vouched for; anything to its
 * left is the client's own claim and could be anything. Shared by geo
 * location and rate-limit keys. Allocates only the address it returns.
 */

/** A header as node gives it: absent, one value, or repeated values. */
export type ForwardedForHeader = string | readonly string[] | undefined;

/** The rightmost X-Forwarded-For address that `isTrusted` rejects; undefined when there is none. */
export function forwardedClient(
  value: ForwardedForHeader,
  isTrusted: (address: string) => boolean,
): string | undefined {
  const header = typeof value === "string" ? value : value?.join(",");
  if (!header) return undefined;
  let end = header.length;
  while (end > 0) {
    const comma = header.lastIndexOf(",", end - 1);
    const address = header.slice(comma + 1, end).trim();
    if (address && !isTrusted(address)) return address;
    end = comma;
  }
  return undefined;
}

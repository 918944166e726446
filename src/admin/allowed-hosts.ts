/**
 * The admin API's guard against DNS rebinding: a page on attacker.example
 * can have its name re-resolved to 127.0.0.1 and then read the admin API as
 * its own origin, but the browser still sends `Host: attacker.example`. So
 * the API answers only Host names it knows (ports are ignored):
 * - `localhost` and every IP address (127.0.0.1, [::1], 10.0.0.5, …): a page
 *   opened on an IP address cannot be rebound to another machine, so a
 *   wildcard listener (0.0.0.0, ::) stays reachable by any of its addresses;
 * - the admin listen host, when it is a name;
 * - the names in `admin.allowedHosts` (e.g. the name the operators browse
 *   to); `"*"` there turns the check off, for a front proxy that checks names.
 * A request without Host (HTTP/1.0) passes: browsers always send one. Any
 * other is answered 421 Misdirected Request, `SY_ERR_HOST_NOT_ALLOWED`.
 */
import { isIP } from "node:net";
import { AdminError, AdminErrorCodes } from "./admin-errors.js";

export const ANY_HOST = "*";

export class AllowedHosts {
  readonly #names: ReadonlySet<string>;
  readonly #any: boolean;

  /** `listenHost`: the admin API's bind host; `allowed`: extra names (`admin.allowedHosts`). */
  constructor(listenHost: string, allowed: readonly string[] = []) {
    this.#any = allowed.includes(ANY_HOST);
    const names = ["localhost", listenHost, ...allowed].map(hostName);
    this.#names = new Set(names.filter((name): name is string => name !== undefined));
  }

  /** Whether a request carrying this Host header may be answered. */
  allows(header: string | undefined): boolean {
    if (header === undefined || this.#any) return true;
    const name = hostName(header);
    if (name === undefined) return false;
    return isIP(name.startsWith("[") ? name.slice(1, -1) : name) !== 0 || this.#names.has(name);
  }

  /** Throws 421 SY_ERR_HOST_NOT_ALLOWED unless `allows(header)`. */
  check(header: string | undefined): void {
    if (this.allows(header)) return;
    throw new AdminError(
      AdminErrorCodes.HOST_NOT_ALLOWED,
      `the admin API does not answer to Host "${header}": it answers localhost, IP addresses, ` +
        "its listen address and the names in admin.allowedHosts (a guard against DNS rebinding)",
    );
  }
}

/** The host name of a Host header or a bare name, lower case, no port or trailing dot; undefined when malformed. */
function hostName(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(`http://${text.trim()}`);
  } catch {
    return undefined;
  }
  if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) return undefined;
  return url.hostname.endsWith(".") ? url.hostname.slice(0, -1) : url.hostname;
}

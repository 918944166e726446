/**
 * Backend address parsing. Accepts `host:port`, `[v6]:port`, `http://host:port`
 * and `https://host:port` URLs, so config files can use whichever form the
 * operator has at hand; `https://` marks a backend the proxy speaks TLS to.
 */
import { ErrorCodes, SwitchyardError } from "./errors.js";

export interface ParsedAddress {
  host: string;
  port: number;
  /** Origin used by HTTP clients, e.g. `http://127.0.0.1:9001` or `https://[::1]:9443`. */
  origin: string;
  /** The address is an `https://` URL: connections to it use TLS. */
  tls: boolean;
}

export function parseAddress(address: string): ParsedAddress {
  const text = address.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  // A bare host:port is read under a non-special scheme, which keeps an explicit :80 (http:// drops it).
  const withScheme = hasScheme ? text : `tcp://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(address, "expected host:port, http://host:port or https://host:port");
  }
  if (hasScheme && url.protocol !== "http:" && url.protocol !== "https:")
    throw invalid(address, "only http:// and https:// upstreams are supported");
  const tls = url.protocol === "https:";
  if (
    (url.pathname !== "/" && url.pathname !== "") ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw invalid(address, "an address carries no path, query or credentials");
  }
  // URL drops a default port; a bare host:port must name its port, a URL may rely on 80 or 443.
  const port = url.port ? Number(url.port) : hasScheme ? (tls ? 443 : 80) : 0;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(address, "a port between 1 and 65535 is required");
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port, origin: `${tls ? "https" : "http"}://${formatHostPort(host, port)}`, tls };
}

/** Formats host and port for listening addresses and logs (brackets IPv6). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function invalid(address: string, expected: string): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_ADDRESS, `invalid address "${address}": ${expected}`, {
    address,
  });
}

/**
 * TLS to backends (HAProxy's `server … ssl ca-file … crt … sni`, Envoy's
 * UpstreamTlsContext, Traefik's serversTransport): the settings a pool gives
 * its `https://` backends, loaded once into a secure context that the
 * proxy's connections, WebSocket tunnels and health checks all share.
 * Verification is on by default: the backend's chain must lead to the system
 * roots (or to `ca` when given), and its certificate must name `serverName`
 * (default: the backend's host). `insecureSkipVerify` turns both off.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { ErrorCodes, SwitchyardError } from "./errors.js";

export interface UpstreamTlsSettings {
  /** PEM file of the CAs that sign backend certificates; default: the system's roots. */
  ca?: string;
  /** Name sent in SNI and checked against the backend's certificate; default: the backend's host. */
  serverName?: string;
  /** PEM client certificate presented to backends that ask for one (mTLS), with `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Accept any backend certificate: no chain or name check. For tests and migrations only. */
  insecureSkipVerify?: boolean;
  /** Lowest protocol version offered; default TLSv1.2. */
  minVersion?: "TLSv1.2" | "TLSv1.3";
}

/** Loaded settings, ready for `tls.connect`. */
export interface UpstreamTls {
  readonly secureContext: tls.SecureContext;
  readonly serverName: string | undefined;
  readonly verify: boolean;
}

let defaults: UpstreamTls | undefined;

/** Settings of a pool with no `backendTls`: the system roots, full verification (built on first use). */
export function defaultUpstreamTls(): UpstreamTls {
  defaults ??= {
    secureContext: tls.createSecureContext({ minVersion: "TLSv1.2" }),
    serverName: undefined,
    verify: true,
  };
  return defaults;
}

/**
 * Reads the PEM files `settings` name and builds the context; a missing or
 * bad file is a coded error. Synchronous: it runs once, when a pool is set up.
 */
export function loadUpstreamTls(settings: UpstreamTlsSettings): UpstreamTls {
  if ((settings.cert === undefined) !== (settings.key === undefined)) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      "backend TLS: a client certificate needs both cert and key",
      {},
    );
  }
  const [ca, cert, key] = [settings.ca, settings.cert, settings.key].map((file) =>
    file === undefined ? undefined : read(file),
  );
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext({ ca, cert, key, minVersion: settings.minVersion ?? "TLSv1.2" });
  } catch (error) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `backend TLS: the certificate files are not usable: ${(error as Error).message}`,
      { ca: settings.ca, cert: settings.cert, key: settings.key },
    );
  }
  return { secureContext, serverName: settings.serverName, verify: settings.insecureSkipVerify !== true };
}

/**
 * `tls.connect` options for one backend; undefined for a plain (non-`https://`)
 * one. SNI carries `serverName`, else the host when it is a name (RFC 6066
 * forbids an IP address there); node checks the certificate against the SNI
 * name, or against the IP dialled. ALPN offers `alpn` alone: `http/1.1`, or
 * `h2` for an HTTP/2 backend.
 */
export function tlsConnectOptions(
  backend: { host: string; port: number; tls: boolean },
  upstream: UpstreamTls,
  alpn: "http/1.1" | "h2" = "http/1.1",
): tls.ConnectionOptions | undefined {
  if (!backend.tls) return undefined;
  const { host, port } = backend;
  const servername = upstream.serverName ?? (net.isIP(host) === 0 ? host : undefined);
  return {
    host,
    port,
    servername,
    secureContext: upstream.secureContext,
    rejectUnauthorized: upstream.verify,
    ALPNProtocols: [alpn],
  };
}

/**
 * A socket to a backend: TLS when `tlsOptions` are given (from
 * `tlsConnectOptions`), plain TCP otherwise, Nagle off either way. `ready`
 * names the event after which it carries bytes: the handshake's end for TLS.
 * `onread` hands each read to a callback in a caller's buffer instead of
 * emitting 'data' (net.Socket's `onread`).
 */
export function dialBackend(
  host: string,
  port: number,
  tlsOptions: tls.ConnectionOptions | undefined,
  onread?: net.OnReadOpts,
): { socket: net.Socket; ready: "connect" | "secureConnect" } {
  if (tlsOptions === undefined)
    return { socket: net.connect({ host, port, noDelay: true, onread }), ready: "connect" };
  // tls.connect takes `onread` as net.connect does; @types/node does not list it.
  const options = { ...tlsOptions, onread } as tls.ConnectionOptions;
  return { socket: tls.connect(options).setNoDelay(true), ready: "secureConnect" };
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `backend TLS: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { file },
    );
  }
}

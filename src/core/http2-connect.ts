/**
 * Opens an HTTP/2 client session to a backend: h2c with prior knowledge on a
 * plain socket, TLS with ALPN `h2` when `tlsOptions` are given (from
 * `tlsConnectOptions(…, "h2")`). A TLS backend that does not agree to `h2`
 * fails the session (an error, then close) instead of being sent frames it
 * will not read. The proxy's upstream sessions, the gRPC and HTTP health
 * checks and the load probes all open theirs here.
 */
import http2 from "node:http2";
import type net from "node:net";
import type tls from "node:tls";
import { formatHostPort } from "./address.js";
import { dialBackend } from "./upstream-tls.js";

export const NOT_H2_MESSAGE = "the backend did not agree to HTTP/2 (ALPN h2)";

export function connectHttp2(
  host: string,
  port: number,
  tlsOptions: tls.ConnectionOptions | undefined,
): { session: http2.ClientHttp2Session; socket: net.Socket } {
  const { socket } = dialBackend(host, port, tlsOptions);
  const scheme = tlsOptions === undefined ? "http" : "https";
  const session = http2.connect(`${scheme}://${formatHostPort(host, port)}`, {
    createConnection: () => socket,
    settings: { enablePush: false },
  });
  if (tlsOptions !== undefined) {
    session.once("connect", () => {
      if ((socket as tls.TLSSocket).alpnProtocol !== "h2") session.destroy(new Error(NOT_H2_MESSAGE));
    });
  }
  return { session, socket };
}

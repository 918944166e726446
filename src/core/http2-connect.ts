/**
 * Opens an HTTP/2 client session to a backend: h2c with prior knowledge on a
 * plain socket, TLS with ALPN `h2` when `tlsOptions` are given (from
 * `tlsConnectOptions(…, "h2")`). A TLS backend that does not agree to `h2`
 * fails the session (an error, then close) instead of being sent frames it
 * will not read. The proxy's upstream sessions, the gRPC and HTTP health
 * checks, the load probes and WebSocket dials all open theirs here.
 *
 * One connect timer for all of them: a session is usable once the backend's
 * SETTINGS arrive (an extended CONNECT needs them), so a backend that takes
 * the connection but never speaks HTTP/2 times out like one that never answers.
 */
import http2 from "node:http2";
import type net from "node:net";
import type tls from "node:tls";
import { formatHostPort } from "./address.js";
import { dialBackend } from "./upstream-tls.js";

export const NOT_H2_MESSAGE = "the backend did not agree to HTTP/2 (ALPN h2)";

/** The session did not get the backend's SETTINGS within the connect timeout. */
export class Http2ConnectTimeout extends Error {
  constructor() {
    super("connecting to the backend timed out");
  }
}

export function connectHttp2(
  host: string,
  port: number,
  tlsOptions: tls.ConnectionOptions | undefined,
  connectTimeoutMs: number,
  /** Called before the timed-out session is destroyed: its streams close before its error event. */
  onTimeout?: (error: Http2ConnectTimeout) => void,
): { session: http2.ClientHttp2Session; socket: net.Socket } {
  const { socket } = dialBackend(host, port, tlsOptions);
  const scheme = tlsOptions === undefined ? "http" : "https";
  const session = http2.connect(`${scheme}://${formatHostPort(host, port)}`, {
    createConnection: () => socket,
    settings: { enablePush: false },
  });
  const timer = setTimeout(() => {
    const error = new Http2ConnectTimeout();
    onTimeout?.(error);
    session.destroy(error);
  }, connectTimeoutMs);
  // The socket keeps the process alive while it connects; the timer need not.
  timer.unref();
  session.once("remoteSettings", () => clearTimeout(timer));
  session.once("close", () => clearTimeout(timer));
  if (tlsOptions !== undefined) {
    session.once("connect", () => {
      if ((socket as tls.TLSSocket).alpnProtocol !== "h2") session.destroy(new Error(NOT_H2_MESSAGE));
    });
  }
  return { session, socket };
}

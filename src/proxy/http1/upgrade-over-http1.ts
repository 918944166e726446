/**
 * An upgrade to an HTTP/1.1 backend: its own TCP (or TLS, ALPN http/1.1)
 * connection, on which the client's request line and fields are replayed
 * with `Connection: Upgrade` and the client's `Upgrade`. The backend's answer
 * is relayed to the client as its bytes come (the connection is the tunnel's
 * upstream from the moment the head is sent); its status code is read from
 * the first bytes, and only `101` lets the client's bytes through.
 */
import type net from "node:net";
import type { Backend } from "../../core/backend.js";
import { ErrorCodes } from "../../core/errors.js";
import { dialBackend, tlsConnectOptions } from "../../core/upstream-tls.js";
import type {
  UpgradeDial,
  UpgradeDialEvents,
  UpgradeDialOptions,
  UpgradeHandshake,
} from "../upgrade-dial.js";

/** Where the status code of `HTTP/1.1 101 ...` ends. */
const STATUS_CODE_END = 12;

export function dialUpgradeOverHttp1(
  backend: Backend,
  handshake: UpgradeHandshake,
  options: UpgradeDialOptions,
  events: UpgradeDialEvents,
): UpgradeDial {
  const { socket, ready } = dialBackend(
    backend.host,
    backend.port,
    tlsConnectOptions(backend, options.backendTls),
  );
  let timedOut = false;
  const onTimeout = (): void => {
    timedOut = true;
    socket.destroy(new Error("connect timeout"));
  };
  const onConnectError = (error: Error): void => {
    // This socket is done: late errors must not reach anyone.
    socket.off("error", onConnectError);
    socket.on("error", ignoreError);
    socket.destroy();
    if (timedOut) events.failed(ErrorCodes.UPSTREAM_TIMEOUT, "connecting to the backend timed out", error);
    else events.failed(ErrorCodes.UPSTREAM_CONNECT, "could not connect to any backend", error);
  };
  socket.setTimeout(options.connectTimeoutMs);
  socket.once("timeout", onTimeout);
  socket.on("error", onConnectError);
  socket.once(ready, () => {
    socket.setTimeout(0);
    socket.off("timeout", onTimeout);
    socket.off("error", onConnectError);
    socket.write(requestHead(handshake));
    readStatus(socket, events);
    events.sent(socket);
  });
  return { destroy: () => socket.destroy() };
}

function requestHead(handshake: UpgradeHandshake): Buffer {
  const { headers } = handshake;
  let text = `${handshake.method} ${handshake.target} HTTP/${handshake.httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  text += `Connection: Upgrade\r\nUpgrade: ${handshake.upgrade}\r\n\r\n`;
  return Buffer.from(text, "latin1");
}

/** Reads the status code off the answer's first bytes, which still reach the client through the pipe. */
function readStatus(socket: net.Socket, events: UpgradeDialEvents): void {
  let start = "";
  const onData = (chunk: Buffer): void => {
    start += chunk.toString("latin1", 0, Math.min(chunk.length, STATUS_CODE_END - start.length));
    if (start.length < STATUS_CODE_END) return;
    socket.off("data", onData);
    // "HTTP/1.1 101 ..." → digits at offsets 9..11.
    const status = start.startsWith("HTTP/") ? Number(start.slice(9)) : Number.NaN;
    const known = Number.isInteger(status) ? status : undefined;
    events.answered(known, known === 101, undefined);
  };
  socket.on("data", onData);
}

function ignoreError(): void {}

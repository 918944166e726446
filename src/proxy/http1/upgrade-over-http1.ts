/**
 * An upgrade to an HTTP/1.1 backend: its own TCP (or TLS, ALPN http/1.1)
 * connection, on which the client's request line and fields are replayed
 * with `Connection: Upgrade` and the client's `Upgrade`. The backend's answer
 * head is read whole and as strictly as any response's (http1/head-parser.ts)
 * within `headersTimeoutMs` before a byte of it reaches the client:
 * a malformed one is 502 and a late one 504, as for requests. Then the
 * connection becomes the tunnel's upstream, the head going first to the
 * client, and only `101` lets the client's bytes through.
 */
import type net from "node:net";
import type { Backend } from "../../core/backend.js";
import { type ErrorCode, ErrorCodes } from "../../core/errors.js";
import { dialBackend, tlsConnectOptions } from "../../core/upstream-tls.js";
import { parseResponseHead } from "../../http1/head-parser.js";
import type {
  UpgradeDial,
  UpgradeDialEvents,
  UpgradeDialOptions,
  UpgradeHandshake,
} from "../upgrade-dial.js";

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
    readAnswer(socket, handshake.method, options.headersTimeoutMs, events);
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

/** Reads the answer's head (past any 1xx but 101); the tunnel opens with it, or the attempt fails. */
function readAnswer(socket: net.Socket, method: string, timeoutMs: number, events: UpgradeDialEvents): void {
  let pending: Buffer = Buffer.alloc(0);
  const stop = (): void => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", onClose);
  };
  const fail = (code: ErrorCode, reason: string, error: Error): void => {
    stop();
    socket.on("error", ignoreError);
    socket.destroy();
    events.failed(code, reason, error);
  };
  const failWith = (code: ErrorCode, reason: string): void => fail(code, reason, new Error(reason));
  const timer = setTimeout(
    () =>
      failWith(ErrorCodes.UPSTREAM_TIMEOUT, `the backend did not answer the upgrade within ${timeoutMs} ms`),
    timeoutMs,
  );
  const onError = (error: Error): void =>
    fail(ErrorCodes.UPSTREAM_RESET, "the backend failed before answering the upgrade", error);
  const onClose = (): void =>
    failWith(ErrorCodes.UPSTREAM_RESET, "the backend closed the connection before answering the upgrade");
  const onData = (chunk: Buffer): void => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      let head: ReturnType<typeof parseResponseHead>;
      try {
        head = parseResponseHead(pending, 0, method);
      } catch (error) {
        const reason = `the backend's answer to the upgrade is malformed: ${(error as Error).message}`;
        fail(ErrorCodes.UPSTREAM_PROTOCOL, reason, error as Error);
        return;
      }
      if (head === undefined) return;
      const headBytes = pending.subarray(0, head.size);
      pending = pending.subarray(head.size);
      // 100 and 103 (Early Hints) are for a client of the backend's own; the answer follows them.
      if (head.status < 200 && head.status !== 101) continue;
      stop();
      socket.pause();
      if (pending.length > 0) socket.unshift(pending);
      events.sent(socket);
      events.answered(head.status, head.status === 101, headBytes);
      return;
    }
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);
}

function ignoreError(): void {}

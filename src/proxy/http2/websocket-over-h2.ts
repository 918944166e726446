/**
 * WebSocket to an HTTP/2 backend (RFC 8441, what HAProxy 2.4+ and Envoy's
 * upgrade_configs do toward an h2 upstream): the client still asks with an
 * HTTP/1.1 Upgrade, the backend gets an extended CONNECT stream on a session
 * of its own (h2c with prior knowledge, or TLS with ALPN h2). The stream is
 * opened only once the backend's SETTINGS advertise
 * SETTINGS_ENABLE_CONNECT_PROTOCOL; one that does not fails the attempt, so
 * the next candidate may take it. The request fields go as they are, less
 * Sec-WebSocket-Key (key and accept are not used on HTTP/2, RFC 8441 §5).
 * A 2xx answer becomes the client's `101 Switching Protocols` with the
 * Sec-WebSocket-Accept its key asks for (RFC 6455 §4.2.2) and the backend's
 * fields (its chosen subprotocol and extensions); any other answer reaches the
 * client as an HTTP/1.1 response, its body after it, and the stream is ended
 * on our side. No answer within `headersTimeoutMs` fails the attempt (504),
 * as for an HTTP/1.1 backend. The session closes with its stream.
 */
import { createHash } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type http2 from "node:http2";
import { formatHostPort } from "../../core/address.js";
import type { Backend } from "../../core/backend.js";
import { type ErrorCode, ErrorCodes } from "../../core/errors.js";
import { connectHttp2, Http2ConnectTimeout } from "../../core/http2-connect.js";
import { fromHttp2Headers, toHttp2Headers } from "../../core/http2-headers.js";
import { tlsConnectOptions } from "../../core/upstream-tls.js";
import type {
  UpgradeDial,
  UpgradeDialEvents,
  UpgradeDialOptions,
  UpgradeHandshake,
} from "../upgrade-dial.js";

export const NO_EXTENDED_CONNECT_MESSAGE =
  "the backend does not take WebSocket over HTTP/2 (its SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL)";

/** RFC 6455 §1.3: appended to the client's key before hashing. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function dialWebSocketOverHttp2(
  backend: Backend,
  handshake: UpgradeHandshake,
  options: UpgradeDialOptions,
  events: UpgradeDialEvents,
): UpgradeDial {
  const { session } = connectHttp2(
    backend.host,
    backend.port,
    tlsConnectOptions(backend, options.backendTls, "h2"),
    options.connectTimeoutMs,
  );
  /** Set once the attempt failed, was abandoned or has its stream. */
  let settled = false;
  const fail = (reason: string, error: Error, code: ErrorCode = ErrorCodes.UPSTREAM_CONNECT): void => {
    if (settled) return;
    settled = true;
    session.destroy();
    events.failed(code, reason, error);
  };
  // After the stream opened, a session error reaches the tunnel through the stream.
  session.on("error", (error: Error) => {
    if (error instanceof Http2ConnectTimeout) fail(error.message, error, ErrorCodes.UPSTREAM_TIMEOUT);
    else fail("could not connect to any backend", error);
  });
  session.on("close", () =>
    fail("could not connect to any backend", new Error("the backend closed the connection")),
  );
  session.once("remoteSettings", (settings: http2.Settings) => {
    if (settled) return;
    if (settings.enableConnectProtocol !== true) {
      fail(NO_EXTENDED_CONNECT_MESSAGE, new Error(NO_EXTENDED_CONNECT_MESSAGE));
      return;
    }
    const { headers, key } = connectHeaders(backend, handshake);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      // Fields node will not send on HTTP/2.
      fail(`the upgrade cannot go over HTTP/2: ${(error as Error).message}`, error as Error);
      return;
    }
    settled = true;
    awaitAnswer(stream, options.headersTimeoutMs, events, (answer) => {
      const status = Number(answer[":status"]);
      const switched = status >= 200 && status < 300;
      const head = switched ? switchedHead(answer, handshake.upgrade, key) : refusedHead(status, answer);
      return { status, switched, head: Buffer.from(head, "latin1") };
    });
    stream.once("close", () => session.close());
  });
  return {
    destroy: () => {
      settled = true;
      session.destroy();
    },
  };
}

/**
 * Opens the tunnel on the stream's answer, which must come within
 * `timeoutMs`; a stream that fails, closes or stays silent before it fails
 * the attempt instead (504 for the silence, as an HTTP/1.1 backend's).
 */
function awaitAnswer(
  stream: http2.ClientHttp2Stream,
  timeoutMs: number,
  events: UpgradeDialEvents,
  answerOf: (answer: http2.IncomingHttpHeaders) => { status: number; switched: boolean; head: Buffer },
): void {
  let done = false;
  const fail = (code: ErrorCode, reason: string, error: Error = new Error(reason)): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stream.destroy();
    events.failed(code, reason, error);
  };
  const timer = setTimeout(
    () => fail(ErrorCodes.UPSTREAM_TIMEOUT, `the backend did not answer the upgrade within ${timeoutMs} ms`),
    timeoutMs,
  );
  stream.on("error", (error: Error) =>
    fail(ErrorCodes.UPSTREAM_RESET, "the backend reset the upgrade's stream", error),
  );
  stream.once("close", () =>
    fail(ErrorCodes.UPSTREAM_RESET, "the backend closed the upgrade's stream unanswered"),
  );
  stream.once("response", (answer: http2.IncomingHttpHeaders) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    const { status, switched, head } = answerOf(answer);
    events.sent(stream);
    events.answered(status, switched, head);
  });
}

/** The extended CONNECT's fields, and the client's Sec-WebSocket-Key (kept back from the backend). */
function connectHeaders(
  backend: Backend,
  handshake: UpgradeHandshake,
): { headers: http2.OutgoingHttpHeaders; key: string | undefined } {
  let authority = formatHostPort(backend.host, backend.port);
  let key: string | undefined;
  const fields: string[] = [];
  const list = handshake.headers;
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    if (name === "host") authority = value;
    else if (name === "sec-websocket-key") key = value;
    else fields.push(name, value);
  }
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "CONNECT",
    ":protocol": handshake.upgrade.toLowerCase(),
    ":scheme": backend.tls ? "https" : "http",
    ":path": handshake.target,
    ":authority": authority,
  };
  return { headers: toHttp2Headers(fields, headers), key };
}

/** The client's 101: the backend's fields, with the accept its key asks for. */
function switchedHead(answer: http2.IncomingHttpHeaders, upgrade: string, key: string | undefined): string {
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n`;
  if (key !== undefined) head += `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n`;
  return `${head}${fields(fromHttp2Headers(answer))}\r\n`;
}

/** A refused upgrade's answer as HTTP/1.1; its body, if any, follows until the stream ends. */
function refusedHead(status: number, answer: http2.IncomingHttpHeaders): string {
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  return `${head}${fields(fromHttp2Headers(answer))}Connection: close\r\n\r\n`;
}

function fields(list: readonly string[]): string {
  let text = "";
  for (let i = 0; i < list.length; i += 2) text += `${list[i]}: ${list[i + 1]}\r\n`;
  return text;
}

/** RFC 6455 §4.2.2: base64 of the SHA-1 of the key and the GUID. */
export function websocketAccept(key: string): string {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
}

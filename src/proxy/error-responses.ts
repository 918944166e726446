/**
 * The wire format of every error the proxy answers itself, in one place: a
 * short JSON body `{ error, message }` plus the `x-switchyard-error` header
 * carrying the same code (see core/errors.ts). `sendErrorResponse` writes it
 * through a ServerResponse (the HTTP exchange); `rawErrorResponse` builds a
 * complete `Connection: close` HTTP/1.1 response as bytes, and `replyAndClose`
 * writes such bytes straight to a socket that has no ServerResponse (client
 * errors caught by the parser, refused WebSocket upgrades) and closes it;
 * `answerClientError` picks the answer for a request node's parser rejected.
 */
import { type ServerResponse, STATUS_CODES } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { type ErrorCode, ErrorCodes } from "../core/errors.js";

/** The JSON body of every error the proxy answers itself: `{ error, message }`. */
export function errorBody(code: ErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: code, message }));
}

/** A complete `Connection: close` HTTP/1.1 error response, for writing straight to a socket. */
export function rawErrorResponse(status: number, code: ErrorCode, message: string): Buffer {
  const body = errorBody(code, message);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    "connection: close\r\n" +
    "content-type: application/json\r\n" +
    `content-length: ${body.length}\r\n` +
    `x-switchyard-error: ${code}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** Writes `response` and closes the socket once it is flushed. */
export function replyAndClose(socket: Duplex, response: Buffer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.write(response);
  if (socket instanceof net.Socket) socket.destroySoon();
  else socket.end();
}

/**
 * Writes a complete error response through `res`, whose head must not be sent
 * yet. Keep-alive is the caller's decision (`res.shouldKeepAlive`).
 */
export function sendErrorResponse(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
): void {
  const body = errorBody(code, message);
  res.writeHead(status, [
    "content-type",
    "application/json",
    "content-length",
    String(body.length),
    "x-switchyard-error",
    code,
  ]);
  res.end(body);
}

/**
 * The parser rejected the request (malformed, oversized head or chunk
 * extensions, or node's request timeout): answer with the matching coded
 * error, the way node itself would answer, and close.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const pending = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  let response: Buffer;
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      // No line end in what was read: the request line alone is over the limit.
      response = lacksLineEnd(error) ? URI_TOO_LONG_RESPONSE : HEADERS_TOO_LARGE_RESPONSE;
      break;
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      response = CHUNK_EXTENSIONS_TOO_LARGE_RESPONSE;
      break;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      response = REQUEST_TIMEOUT_RESPONSE;
      break;
    default:
      response = BAD_REQUEST_RESPONSE;
      break;
  }
  replyAndClose(socket, response);
}

function lacksLineEnd(error: Error & { rawPacket?: unknown }): boolean {
  return Buffer.isBuffer(error.rawPacket) && error.rawPacket.indexOf(10) < 0;
}

const BAD_REQUEST_RESPONSE = rawErrorResponse(400, ErrorCodes.BAD_REQUEST, "malformed HTTP request");
const HEADERS_TOO_LARGE_RESPONSE = rawErrorResponse(
  431,
  ErrorCodes.HEADERS_TOO_LARGE,
  "request headers are too large",
);
const URI_TOO_LONG_RESPONSE = rawErrorResponse(
  414,
  ErrorCodes.URI_TOO_LONG,
  "the request target is too long",
);
const CHUNK_EXTENSIONS_TOO_LARGE_RESPONSE = rawErrorResponse(
  413,
  ErrorCodes.PAYLOAD_TOO_LARGE,
  "chunk extensions are too large",
);
const REQUEST_TIMEOUT_RESPONSE = rawErrorResponse(
  408,
  ErrorCodes.CLIENT_TIMEOUT,
  "the request was not received in time",
);

/**
 * The wire format of every error the proxy answers itself, in one place: a
 * short JSON body `{ error, message }` plus the `x-switchyard-error` header
 * carrying the same code (see core/errors.ts). `sendErrorResponse` writes it
 * through a ServerResponse (the HTTP exchange); `rawErrorResponse` builds a
 * complete `Connection: close` HTTP/1.1 response as bytes, and `replyAndClose`
 * writes such bytes straight to a socket that has no ServerResponse (client
 * errors caught by the parser, refused WebSocket upgrades) and closes it.
 */
import { type ServerResponse, STATUS_CODES } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../core/errors.js";

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

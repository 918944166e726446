/**
 * The wire format of every error the proxy answers itself, in one place: a
 * short JSON body `{ error, message }` plus the `x-switchyard-error` header
 * carrying the same code (see core/errors.ts). `sendErrorResponse` writes it
 * through the client connection (the HTTP exchange); `rawErrorResponse`
 * builds a complete `Connection: close` HTTP/1.1 response as bytes for a
 * socket with no response in progress (requests the parser refused, refused
 * WebSocket upgrades), and `replyAndClose` writes such bytes and closes.
 */
import { STATUS_CODES } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../core/errors.js";

/** The JSON body of every error the proxy answers itself: `{ error, message }`. */
export function errorBody(code: ErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: code, message }));
}

/**
 * A complete `Connection: close` HTTP/1.1 error response, for writing straight
 * to a socket; `headers`: more fields, a flat `[name, value, ...]` list.
 */
export function rawErrorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  headers: readonly string[] = [],
): Buffer {
  const body = errorBody(code, message);
  let extra = "";
  for (let i = 0; i < headers.length; i += 2) extra += `${headers[i]}: ${headers[i + 1]}\r\n`;
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    extra +
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

/** The part of a response writer an error answer needs (the client connection has it). */
export interface ErrorResponseWriter {
  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void;
  write(chunk: Buffer): boolean;
  end(trailers: null): void;
}

/**
 * Writes a complete error response through `res`, whose head must not be sent
 * yet, with `headers` (a flat list) besides its own. Keep-alive is the caller's decision.
 */
export function sendErrorResponse(
  res: ErrorResponseWriter,
  status: number,
  code: ErrorCode,
  message: string,
  headers: readonly string[] = [],
): void {
  const body = errorBody(code, message);
  res.writeHead(status, undefined, [
    ...headers,
    "content-type",
    "application/json",
    "content-length",
    String(body.length),
    "x-switchyard-error",
    code,
  ]);
  res.write(body);
  res.end(null);
}

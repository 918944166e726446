/**
 * The wire format of every error the proxy answers itself, in one place: a
 * status and default message from the code's row in core/errors.ts, a
 * short JSON body `{ error, message }` plus the `x-switchyard-error` header
 * carrying the same code (see core/errors.ts). `sendErrorResponse` writes it
 * through the client connection or stream (the HTTP exchange); to a gRPC
 * request (grpc-status.ts) it answers as gRPC does instead: status 200 and
 * a head alone (Trailers-Only) carrying `grpc-status`, `grpc-message` (the
 * code and the message) and `x-switchyard-error`. `rawErrorResponse`
 * builds a complete `Connection: close` HTTP/1.1 response as bytes for a
 * socket with no response in progress (requests the parser refused, refused
 * WebSocket upgrades), and `replyAndClose` writes such bytes and closes.
 */
import { STATUS_CODES } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { type ErrorCode, errorEntry } from "../core/errors.js";
import { encodeGrpcMessage, grpcKind, grpcStatusFor } from "./grpc-status.js";
import type { HeaderObject } from "./http1/client-request.js";

/** An error the proxy answers itself. */
export interface ProxyError {
  readonly status: number;
  readonly code: ErrorCode;
  /** For people: the JSON body's `message`, and `grpc-message` after the code. */
  readonly message: string;
  /** What a gRPC client gets; default the status `status` stands for (grpc-status.ts). */
  readonly grpcStatus?: number;
}

/** The error `code` stands for: its status, and `message` or else its default one. */
export function proxyError(code: ErrorCode, message = errorEntry(code).message): ProxyError {
  return { status: errorEntry(code).status, code, message };
}

/** The JSON body of every error the proxy answers itself: `{ error, message }`. */
export function errorBody(code: ErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: code, message }));
}

/**
 * A complete `Connection: close` HTTP/1.1 response for `error`, for writing
 * straight to a socket; `headers`: more fields, a flat `[name, value, ...]` list.
 */
export function rawErrorResponse(error: ProxyError, headers: readonly string[] = []): Buffer {
  const { status, code } = error;
  const body = errorBody(code, error.message);
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

/** The fields telling a gRPC client about `error`: `grpc-status`, `grpc-message`, `x-switchyard-error`. */
export function grpcErrorFields(error: ProxyError): string[] {
  return [
    "grpc-status",
    String(error.grpcStatus ?? grpcStatusFor(error.status)),
    "grpc-message",
    encodeGrpcMessage(`${error.code}: ${error.message}`),
    "x-switchyard-error",
    error.code,
  ];
}

/**
 * Writes a complete error response for `request` through `res`, whose head
 * must not be sent yet, with `headers` (a flat list) besides its own, and
 * gives the status it sent: `error.status`, or 200 to a gRPC request.
 * Keep-alive is the caller's decision.
 */
export function sendErrorResponse(
  res: ErrorResponseWriter,
  request: { readonly headers: HeaderObject },
  error: ProxyError,
  headers: readonly string[] = [],
): number {
  if (grpcKind(request.headers) !== undefined) {
    // Trailers-Only: the declared empty body ends an HTTP/2 stream with the head.
    res.writeHead(200, undefined, [
      ...headers,
      "content-type",
      request.headers["content-type"] as string,
      "content-length",
      "0",
      ...grpcErrorFields(error),
    ]);
    res.end(null);
    return 200;
  }
  const { status, code } = error;
  const body = errorBody(code, error.message);
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
  return status;
}

/**
 * A message the HTTP/1.1 engine refuses to frame: the coded error that goes
 * in `x-switchyard-error`, and the message and status to answer the client
 * with, by default the code's (core/errors.ts).
 */
import { type ErrorCode, errorEntry } from "../core/errors.js";

export class HttpParseError extends Error {
  readonly status: number;
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message = errorEntry(code).message, status = errorEntry(code).status) {
    super(message);
    this.name = "HttpParseError";
    this.status = status;
    this.code = code;
  }
}

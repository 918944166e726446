/**
 * A message the HTTP/1.1 engine refuses to frame: the status to answer the
 * client with (400, 414, 431, 501, 405; 502 for a backend's malformed
 * response) and the coded error that goes in `x-switchyard-error`.
 */
import type { ErrorCode } from "../../core/errors.js";

export class HttpParseError extends Error {
  readonly status: number;
  readonly code: ErrorCode;

  constructor(status: number, code: ErrorCode, message: string) {
    super(message);
    this.name = "HttpParseError";
    this.status = status;
    this.code = code;
  }
}

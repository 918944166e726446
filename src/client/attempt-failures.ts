/**
 * What a failed attempt of the client means, read from undici's error code:
 * whether the request may go to another backend (`always`: it provably never
 * reached the backend; `idempotent`: the connection broke before an answer,
 * so only a method RFC 9110 calls idempotent may be sent again; `never`) and
 * whether the backend is blamed in the attempt's outcome. The same split as
 * the proxy's (proxy/upstream-failures.ts), for undici's codes.
 */
import { type ErrorCode, ErrorCodes } from "../core/errors.js";

export interface AttemptFailure {
  code: ErrorCode;
  retry: "always" | "idempotent" | "never";
  blame: boolean;
}

const CONNECT_FAILED: AttemptFailure = { code: ErrorCodes.UPSTREAM_CONNECT, retry: "always", blame: true };
const CONNECT_TIMED_OUT: AttemptFailure = { code: ErrorCodes.UPSTREAM_TIMEOUT, retry: "always", blame: true };
const RESPONSE_TIMED_OUT: AttemptFailure = { code: ErrorCodes.UPSTREAM_TIMEOUT, retry: "never", blame: true };
const RESET: AttemptFailure = { code: ErrorCodes.UPSTREAM_RESET, retry: "idempotent", blame: true };
const POOL_CLOSED: AttemptFailure = { code: ErrorCodes.UPSTREAM_CONNECT, retry: "always", blame: false };
/** The caller's own doing (an abort, a bad argument): neither retried nor held against the backend. */
const CALLER: AttemptFailure = { code: ErrorCodes.BAD_REQUEST, retry: "never", blame: false };

/** Socket errors raised while connecting: the request was never sent. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

export function classifyAttemptError(error: Error & { code?: string }): AttemptFailure {
  const code = error.code ?? "";
  if (CONNECT_CODES.has(code)) return CONNECT_FAILED;
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return CONNECT_TIMED_OUT;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return RESPONSE_TIMED_OUT;
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return POOL_CLOSED;
    case "UND_ERR_ABORT":
    case "UND_ERR_ABORTED":
    case "UND_ERR_INVALID_ARG":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return CALLER;
    default:
      return error.name === "AbortError" ? CALLER : RESET;
  }
}

/**
 * What a failed upstream attempt means. `classify` maps undici's and the
 * socket's error codes to a Failure: the status and code the client gets
 * when nothing else can be done, whether the request may be sent again
 * (`always`: it provably never reached the backend; `idempotent`: only for
 * methods RFC 9110 calls idempotent; `never`), and whether the backend is
 * blamed in the attempt's outcome.
 */
import { type ErrorCode, ErrorCodes } from "../core/errors.js";

/** Methods RFC 9110 §9.2.2 calls idempotent: safe to send again after a reset. */
export const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Why an attempt failed, and what that allows. */
export interface Failure {
  status: number;
  code: ErrorCode;
  message: string;
  /** `always`: the request provably never reached the backend; `idempotent`: retry idempotent methods only. */
  retry: "always" | "idempotent" | "never";
  /** Whether the failure is held against the backend in the outcome. */
  blame: boolean;
}

const CONNECT_FAILED: Failure = {
  status: 502,
  code: ErrorCodes.UPSTREAM_CONNECT,
  message: "could not connect to a backend",
  retry: "always",
  blame: true,
};
const CONNECT_TIMED_OUT: Failure = {
  status: 504,
  code: ErrorCodes.UPSTREAM_TIMEOUT,
  message: "connecting to the backend timed out",
  retry: "always",
  blame: true,
};
const RESPONSE_TIMED_OUT: Failure = {
  status: 504,
  code: ErrorCodes.UPSTREAM_TIMEOUT,
  message: "the backend did not answer in time",
  retry: "never",
  blame: true,
};
const UPSTREAM_RESET: Failure = {
  status: 502,
  code: ErrorCodes.UPSTREAM_RESET,
  message: "the backend closed the connection without a complete response",
  retry: "idempotent",
  blame: true,
};
const REQUEST_REFUSED: Failure = {
  status: 400,
  code: ErrorCodes.BAD_REQUEST,
  message: "the request cannot be forwarded",
  retry: "never",
  blame: false,
};

export function classify(error: Error & { code?: string }): Failure {
  switch (error.code) {
    case "ECONNREFUSED":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return CONNECT_FAILED;
    case "UND_ERR_CONNECT_TIMEOUT":
      return CONNECT_TIMED_OUT;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return RESPONSE_TIMED_OUT;
    case "UND_ERR_INVALID_ARG":
    case "UND_ERR_NOT_SUPPORTED":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return REQUEST_REFUSED;
    default:
      return UPSTREAM_RESET;
  }
}

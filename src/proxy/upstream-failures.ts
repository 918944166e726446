/**
 * What a failed upstream attempt means. `classify` maps the upstream
 * connection's error codes (src/http1/upstream-handler.ts) to a Failure: the
 * code the client gets when nothing else can be done, with the code's status
 * (core/errors.ts) and the gRPC status where the HTTP one says too little
 * (grpc-status.ts), whether the request may be sent again
 * (`always`: it provably never reached the backend; `idempotent`: only for
 * methods RFC 9110 calls idempotent; `never`), and whether the backend is
 * blamed in the attempt's outcome.
 */
import type { RetryCondition } from "../balancer/attempt-policy.js";
import { ErrorCodes } from "../core/errors.js";
import { UpstreamErrorCodes } from "../http1/upstream-handler.js";
import { type ProxyError, proxyError } from "./error-responses.js";
import { GrpcStatus } from "./grpc-status.js";

/** Methods RFC 9110 §9.2.2 calls idempotent: safe to send again after a reset. */
export const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Why an attempt failed, and what that allows. */
export interface Failure extends ProxyError {
  /** `always`: the request provably never reached the backend; `idempotent`: retry idempotent methods only. */
  retry: RetryCondition;
  /** Whether the failure is held against the backend in the outcome. */
  blame: boolean;
}

const CONNECT_FAILED: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_CONNECT),
  retry: "always",
  blame: true,
};
const CONNECT_TIMED_OUT: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_TIMEOUT, "connecting to the backend timed out"),
  // The request never reached a backend: worth a retry, unlike a deadline.
  grpcStatus: GrpcStatus.UNAVAILABLE,
  retry: "always",
  blame: true,
};
const RESPONSE_TIMED_OUT: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_TIMEOUT),
  retry: "never",
  blame: true,
};
const UPSTREAM_RESET: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_RESET),
  retry: "idempotent",
  blame: true,
};
/** The keep-alive race (upstream-handler.ts): the exchange resends once on another connection first. */
const STALE_CONNECTION: Failure = {
  ...proxyError(
    ErrorCodes.UPSTREAM_RESET,
    "the backend closed a kept-alive connection as the request reached it",
  ),
  retry: "idempotent",
  blame: false,
};
const MALFORMED_RESPONSE: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_PROTOCOL),
  retry: "idempotent",
  blame: true,
};
const QUEUE_TIMED_OUT: Failure = {
  ...proxyError(ErrorCodes.QUEUE_TIMEOUT),
  retry: "always",
  blame: false,
};
const STREAM_REFUSED: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_CONNECT, "the backend refused the request before processing it"),
  retry: "always",
  // A backend going away (GOAWAY) or at its stream limit refuses streams without failing.
  blame: false,
};
const POOL_CLOSED: Failure = {
  ...proxyError(ErrorCodes.UPSTREAM_CONNECT, "the backend's connection pool is closed"),
  retry: "always",
  blame: false,
};

export function classify(error: Error & { code?: string }): Failure {
  switch (error.code) {
    case UpstreamErrorCodes.CONNECT:
      return CONNECT_FAILED;
    case UpstreamErrorCodes.CONNECT_TIMEOUT:
      return CONNECT_TIMED_OUT;
    case UpstreamErrorCodes.HEADERS_TIMEOUT:
    case UpstreamErrorCodes.BODY_TIMEOUT:
      return RESPONSE_TIMED_OUT;
    case UpstreamErrorCodes.PROTOCOL:
      return MALFORMED_RESPONSE;
    case UpstreamErrorCodes.STALE:
      return STALE_CONNECTION;
    case UpstreamErrorCodes.QUEUE_TIMEOUT:
      return QUEUE_TIMED_OUT;
    case UpstreamErrorCodes.CLOSED:
      return POOL_CLOSED;
    case UpstreamErrorCodes.REFUSED:
      return STREAM_REFUSED;
    default:
      return UPSTREAM_RESET;
  }
}

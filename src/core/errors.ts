/**
 * Coded errors, one place for every code. The same code appears in the
 * `x-switchyard-error` response header, in logs and in API error bodies, so an
 * operator can grep one string across all three.
 */
export const ErrorCodes = {
  NO_BACKEND: "SY_ERR_NO_BACKEND",
  CONFIG: "SY_ERR_CONFIG",
  UNKNOWN_ALGORITHM: "SY_ERR_UNKNOWN_ALGORITHM",
  INVALID_OPTIONS: "SY_ERR_INVALID_OPTIONS",
  INVALID_ADDRESS: "SY_ERR_INVALID_ADDRESS",
  DUPLICATE_BACKEND: "SY_ERR_DUPLICATE_BACKEND",
  UNKNOWN_BACKEND: "SY_ERR_UNKNOWN_BACKEND",
  UPSTREAM_CONNECT: "SY_ERR_UPSTREAM_CONNECT",
  UPSTREAM_RESET: "SY_ERR_UPSTREAM_RESET",
  UPSTREAM_TIMEOUT: "SY_ERR_UPSTREAM_TIMEOUT",
  /** A gRPC call's deadline (its client's `grpc-timeout`) passed before its response ended. */
  DEADLINE_EXCEEDED: "SY_ERR_DEADLINE_EXCEEDED",
  /** The backend's response could not be framed (malformed head, bad chunking). */
  UPSTREAM_PROTOCOL: "SY_ERR_UPSTREAM_PROTOCOL",
  /** Every connection to the backend was busy for the whole queue timeout. */
  QUEUE_TIMEOUT: "SY_ERR_QUEUE_TIMEOUT",
  /** The request's rate-limit bucket was empty (429 with Retry-After). */
  RATE_LIMITED: "SY_ERR_RATE_LIMITED",
  /** No route of a listener without a default pool took the request (404). */
  NO_ROUTE: "SY_ERR_NO_ROUTE",
  BAD_REQUEST: "SY_ERR_BAD_REQUEST",
  HEADERS_TOO_LARGE: "SY_ERR_HEADERS_TOO_LARGE",
  URI_TOO_LONG: "SY_ERR_URI_TOO_LONG",
  PAYLOAD_TOO_LARGE: "SY_ERR_PAYLOAD_TOO_LARGE",
  CLIENT_TIMEOUT: "SY_ERR_CLIENT_TIMEOUT",
  SHUTTING_DOWN: "SY_ERR_SHUTTING_DOWN",
  INTERNAL: "SY_ERR_INTERNAL",
  LISTEN: "SY_ERR_LISTEN",
  ADMIN_WRITES_DISABLED: "SY_ERR_ADMIN_WRITES_DISABLED",
  UNAUTHORIZED: "SY_ERR_UNAUTHORIZED",
  NOT_FOUND: "SY_ERR_NOT_FOUND",
  METHOD_NOT_ALLOWED: "SY_ERR_METHOD_NOT_ALLOWED",
  /** An admin request whose Host names neither this machine nor an allowed name (DNS rebinding guard). */
  HOST_NOT_ALLOWED: "SY_ERR_HOST_NOT_ALLOWED",
  UNKNOWN_POOL: "SY_ERR_UNKNOWN_POOL",
  LOAD_TEST_RUNNING: "SY_ERR_LOAD_TEST_RUNNING",
  /** Cluster mode: no worker could answer an admin request. */
  WORKER_UNAVAILABLE: "SY_ERR_WORKER_UNAVAILABLE",
  DASHBOARD_NOT_BUILT: "SY_ERR_DASHBOARD_NOT_BUILT",
  TOO_MANY_STREAMS: "SY_ERR_TOO_MANY_STREAMS",
  /** The shared config store (etcd) cannot be reached or refused a change. */
  CONFIG_STORE: "SY_ERR_CONFIG_STORE",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "SwitchyardError";
    this.code = code;
    this.details = details;
  }
}

export function isSwitchyardError(error: unknown, code?: ErrorCode): error is SwitchyardError {
  return error instanceof SwitchyardError && (code === undefined || error.code === code);
}

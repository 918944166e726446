/**
 * Coded errors, one table for every code: the code string, the HTTP status it
 * answers with (proxy and admin API alike) and a short default message, side
 * by side as Fastify keeps its errors. The same code appears in the
 * `x-switchyard-error` response header, in logs and in API error bodies, so an
 * operator can grep one string across all three.
 */

/** One row of the table: what a code means on the wire. */
export interface ErrorEntry {
  readonly code: string;
  /** The HTTP status a request failing with this code gets (4xx or 5xx; a redirect's own 3xx). */
  readonly status: number;
  /** For people, when the call site has nothing more specific to say. */
  readonly message: string;
}

export const ErrorTable = {
  NO_BACKEND: { code: "SY_ERR_NO_BACKEND", status: 503, message: "no ready backend" },
  CONFIG: { code: "SY_ERR_CONFIG", status: 400, message: "invalid config" },
  UNKNOWN_ALGORITHM: { code: "SY_ERR_UNKNOWN_ALGORITHM", status: 400, message: "unknown algorithm" },
  INVALID_OPTIONS: { code: "SY_ERR_INVALID_OPTIONS", status: 400, message: "invalid options" },
  INVALID_ADDRESS: { code: "SY_ERR_INVALID_ADDRESS", status: 400, message: "invalid address" },
  DUPLICATE_BACKEND: { code: "SY_ERR_DUPLICATE_BACKEND", status: 409, message: "the backend already exists" },
  UNKNOWN_BACKEND: { code: "SY_ERR_UNKNOWN_BACKEND", status: 404, message: "no such backend" },
  UPSTREAM_CONNECT: {
    code: "SY_ERR_UPSTREAM_CONNECT",
    status: 502,
    message: "could not connect to a backend",
  },
  UPSTREAM_RESET: {
    code: "SY_ERR_UPSTREAM_RESET",
    status: 502,
    message: "the backend closed the connection without a complete response",
  },
  UPSTREAM_TIMEOUT: {
    code: "SY_ERR_UPSTREAM_TIMEOUT",
    status: 504,
    message: "the backend did not answer in time",
  },
  /** A gRPC call's deadline (its client's `grpc-timeout`) passed before its response ended. */
  DEADLINE_EXCEEDED: {
    code: "SY_ERR_DEADLINE_EXCEEDED",
    status: 504,
    message: "the call's deadline (grpc-timeout) passed",
  },
  /** The backend's response could not be framed (malformed head, bad chunking). */
  UPSTREAM_PROTOCOL: {
    code: "SY_ERR_UPSTREAM_PROTOCOL",
    status: 502,
    message: "the backend sent a malformed response",
  },
  /** Every connection to the backend was busy for the whole queue timeout. */
  QUEUE_TIMEOUT: {
    code: "SY_ERR_QUEUE_TIMEOUT",
    status: 503,
    message: "every connection to the backend stayed busy for the queue timeout",
  },
  /** The request's rate-limit bucket was empty (429 with Retry-After). */
  RATE_LIMITED: {
    code: "SY_ERR_RATE_LIMITED",
    status: 429,
    message: "too many requests; retry after the Retry-After delay",
  },
  /** No route of a listener without a default pool took the request (404). */
  NO_ROUTE: {
    code: "SY_ERR_NO_ROUTE",
    status: 404,
    message: "no route of this listener matches the request",
  },
  /**
   * A redirect answered to a gRPC call: gRPC clients do not follow them, so
   * the call fails with this code (other requests just get the redirect).
   */
  REDIRECTED: {
    code: "SY_ERR_REDIRECTED",
    status: 302,
    message: "the route redirects this request; gRPC clients do not follow redirects",
  },
  BAD_REQUEST: { code: "SY_ERR_BAD_REQUEST", status: 400, message: "malformed HTTP request" },
  HEADERS_TOO_LARGE: {
    code: "SY_ERR_HEADERS_TOO_LARGE",
    status: 431,
    message: "the request head is too large",
  },
  URI_TOO_LONG: { code: "SY_ERR_URI_TOO_LONG", status: 414, message: "the request target is too long" },
  PAYLOAD_TOO_LARGE: {
    code: "SY_ERR_PAYLOAD_TOO_LARGE",
    status: 413,
    message: "the request body is too large",
  },
  CLIENT_TIMEOUT: {
    code: "SY_ERR_CLIENT_TIMEOUT",
    status: 408,
    message: "the request was not received in time",
  },
  SHUTTING_DOWN: { code: "SY_ERR_SHUTTING_DOWN", status: 503, message: "the proxy is shutting down" },
  INTERNAL: { code: "SY_ERR_INTERNAL", status: 500, message: "internal error; see the server log" },
  LISTEN: { code: "SY_ERR_LISTEN", status: 500, message: "cannot listen on the address" },
  ADMIN_WRITES_DISABLED: {
    code: "SY_ERR_ADMIN_WRITES_DISABLED",
    status: 403,
    message: "admin writes are disabled: no admin token is configured",
  },
  UNAUTHORIZED: { code: "SY_ERR_UNAUTHORIZED", status: 401, message: "missing or wrong bearer token" },
  NOT_FOUND: { code: "SY_ERR_NOT_FOUND", status: 404, message: "not found" },
  METHOD_NOT_ALLOWED: { code: "SY_ERR_METHOD_NOT_ALLOWED", status: 405, message: "method not allowed" },
  /** An admin request whose Host names neither this machine nor an allowed name (DNS rebinding guard). */
  HOST_NOT_ALLOWED: {
    code: "SY_ERR_HOST_NOT_ALLOWED",
    status: 421,
    message: "the admin API does not answer to this Host",
  },
  UNKNOWN_POOL: { code: "SY_ERR_UNKNOWN_POOL", status: 404, message: "no such pool" },
  LOAD_TEST_RUNNING: {
    code: "SY_ERR_LOAD_TEST_RUNNING",
    status: 409,
    message: "a load test is still running",
  },
  /** Cluster mode: no worker could answer an admin request. */
  WORKER_UNAVAILABLE: {
    code: "SY_ERR_WORKER_UNAVAILABLE",
    status: 503,
    message: "no worker answered; see the server log",
  },
  DASHBOARD_NOT_BUILT: {
    code: "SY_ERR_DASHBOARD_NOT_BUILT",
    status: 503,
    message: "dashboard not built: run npm run build",
  },
  TOO_MANY_STREAMS: {
    code: "SY_ERR_TOO_MANY_STREAMS",
    status: 503,
    message: "too many event streams open; retry later",
  },
  /** The shared config store (etcd) cannot be reached or refused a change. */
  CONFIG_STORE: { code: "SY_ERR_CONFIG_STORE", status: 503, message: "the config store cannot be reached" },
} as const satisfies Record<string, ErrorEntry>;

type Table = typeof ErrorTable;

/** The code strings by name (`ErrorCodes.NO_BACKEND` is `"SY_ERR_NO_BACKEND"`), read from the table. */
export const ErrorCodes = Object.fromEntries(
  Object.entries(ErrorTable).map(([name, entry]) => [name, entry.code]),
) as { readonly [Name in keyof Table]: Table[Name]["code"] };

export type ErrorCode = Table[keyof Table]["code"];

const ENTRIES = new Map<string, ErrorEntry>(Object.values(ErrorTable).map((entry) => [entry.code, entry]));

/** The table's row for `code`. */
export function errorEntry(code: ErrorCode): ErrorEntry {
  return ENTRIES.get(code) as ErrorEntry;
}

/** The HTTP status a request failing with `code` gets. */
export function statusFor(code: ErrorCode): number {
  return errorEntry(code).status;
}

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

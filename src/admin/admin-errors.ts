/**
 * Errors the admin API answers with, and the status each code maps to. Codes
 * are the core's (core/errors.ts), so an operator greps one string across API
 * bodies, the `x-switchyard-error` header and logs.
 */
import { type ErrorCode, ErrorCodes, isSwitchyardError } from "../core/errors.js";

export const AdminErrorCodes = {
  /** A write arrived but no admin token is configured. */
  WRITES_DISABLED: ErrorCodes.ADMIN_WRITES_DISABLED,
  /** A write without a bearer token, or with the wrong one. */
  UNAUTHORIZED: ErrorCodes.UNAUTHORIZED,
  /** No route at this path. */
  NOT_FOUND: ErrorCodes.NOT_FOUND,
  /** The path exists but not for this method. */
  METHOD_NOT_ALLOWED: ErrorCodes.METHOD_NOT_ALLOWED,
  /** The Host header names a host the admin API does not answer to (421). */
  HOST_NOT_ALLOWED: ErrorCodes.HOST_NOT_ALLOWED,
  /** The request names a pool that does not exist. */
  UNKNOWN_POOL: ErrorCodes.UNKNOWN_POOL,
} as const;

export type AdminErrorCode = ErrorCode;

/** An error answered as `{ error: code, message, ...extra }` with `status`. */
export class AdminError extends Error {
  readonly status: number;
  readonly code: AdminErrorCode;
  /** Extra fields for the JSON body (e.g. `issues`). */
  readonly extra: Record<string, unknown> | undefined;
  /** Extra response headers (e.g. `allow`, `www-authenticate`). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    code: AdminErrorCode,
    message: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "AdminError";
    this.status = status;
    this.code = code;
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.CONFIG]: 400,
  [ErrorCodes.UNKNOWN_ALGORITHM]: 400,
  [ErrorCodes.INVALID_OPTIONS]: 400,
  [ErrorCodes.INVALID_ADDRESS]: 400,
  [ErrorCodes.UNKNOWN_BACKEND]: 404,
  [ErrorCodes.DUPLICATE_BACKEND]: 409,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.CONFIG_STORE]: 503,
};

/**
 * Any thrown value as an AdminError: admin errors as they are, coded core
 * errors with their mapped status, anything else (a bug) as 500
 * SY_ERR_INTERNAL without internal detail. `expected` tells the caller
 * whether to log it as a failure of ours.
 */
export function toAdminError(error: unknown): { error: AdminError; expected: boolean } {
  if (error instanceof AdminError) return { error, expected: true };
  if (isSwitchyardError(error)) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined)
      return { error: new AdminError(status, error.code, error.message), expected: true };
  }
  return {
    error: new AdminError(500, ErrorCodes.INTERNAL, "internal error in the admin API; see the server log"),
    expected: false,
  };
}

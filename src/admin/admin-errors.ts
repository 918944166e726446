/**
 * Errors the admin API answers with. Codes and the status each maps to are
 * the core's table (core/errors.ts), shared with the proxy, so an operator
 * greps one string across API bodies, the `x-switchyard-error` header and logs.
 */
import { type ErrorCode, ErrorCodes, errorEntry, isSwitchyardError, statusFor } from "../core/errors.js";

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

/**
 * An error answered as `{ error: code, message, ...extra }` with `status`;
 * the message and status default to the code's (core/errors.ts).
 */
export class AdminError extends Error {
  readonly status: number;
  readonly code: AdminErrorCode;
  /** Extra fields for the JSON body (e.g. `issues`). */
  readonly extra: Record<string, unknown> | undefined;
  /** Extra response headers (e.g. `allow`, `www-authenticate`). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: AdminErrorCode,
    message = errorEntry(code).message,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(message);
    this.name = "AdminError";
    this.status = options.status ?? statusFor(code);
    this.code = code;
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

/**
 * The core errors an admin request may fail with (bad input, a conflict, the
 * config store away); any other code reaching the API is a bug of ours.
 */
const EXPECTED_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.BAD_REQUEST,
  ErrorCodes.CONFIG,
  ErrorCodes.UNKNOWN_ALGORITHM,
  ErrorCodes.INVALID_OPTIONS,
  ErrorCodes.INVALID_ADDRESS,
  ErrorCodes.UNKNOWN_BACKEND,
  ErrorCodes.DUPLICATE_BACKEND,
  ErrorCodes.PAYLOAD_TOO_LARGE,
  ErrorCodes.CONFIG_STORE,
]);

/**
 * Any thrown value as an AdminError: admin errors as they are, expected core
 * errors with their code's status, anything else (a bug) as 500
 * SY_ERR_INTERNAL without internal detail. `expected` tells the caller
 * whether to log it as a failure of ours.
 */
export function toAdminError(error: unknown): { error: AdminError; expected: boolean } {
  if (error instanceof AdminError) return { error, expected: true };
  if (isSwitchyardError(error) && EXPECTED_CODES.has(error.code))
    return { error: new AdminError(error.code, error.message), expected: true };
  return {
    error: new AdminError(ErrorCodes.INTERNAL, "internal error in the admin API; see the server log"),
    expected: false,
  };
}

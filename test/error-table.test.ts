/**
 * The admin API and the proxy answer a code with the same status, the one in
 * the core's error table: both build their errors from it.
 */
import { describe, expect, it } from "vitest";
import { AdminError, toAdminError } from "../src/admin/admin-errors.js";
import { type ErrorCode, ErrorCodes, errorEntry, SwitchyardError } from "../src/core/errors.js";
import { HttpParseError } from "../src/http1/parse-error.js";
import { proxyError, rawErrorResponse } from "../src/proxy/error-responses.js";

const codes = Object.values(ErrorCodes) as ErrorCode[];

/** The status line's code of a raw error response. */
function rawStatus(response: Buffer): number {
  return Number(response.toString("latin1").split(" ")[1]);
}

describe("one status per code, admin API and proxy alike", () => {
  it.each(codes)("%s", (code) => {
    const { status, message } = errorEntry(code);
    const admin = new AdminError(code);
    const proxy = proxyError(code);
    expect(admin.status).toBe(status);
    expect(admin.message).toBe(message);
    expect(proxy).toEqual({ status, code, message });
    expect(new HttpParseError(code).status).toBe(status);
    expect(rawStatus(rawErrorResponse(proxy))).toBe(status);
  });

  it("answers the core errors an admin request may fail with at the code's status, as the proxy would", () => {
    for (const code of [ErrorCodes.BAD_REQUEST, ErrorCodes.PAYLOAD_TOO_LARGE, ErrorCodes.CONFIG_STORE]) {
      const { error, expected } = toAdminError(new SwitchyardError(code, "from the core"));
      expect(expected).toBe(true);
      expect(error.code).toBe(code);
      expect(error.status).toBe(proxyError(code).status);
    }
  });

  it("answers any other thrown value as 500 SY_ERR_INTERNAL, the table's status for it", () => {
    const { error, expected } = toAdminError(new SwitchyardError(ErrorCodes.NO_BACKEND, "a bug"));
    expect(expected).toBe(false);
    expect(error.code).toBe(ErrorCodes.INTERNAL);
    expect(error.status).toBe(500);
    expect(proxyError(ErrorCodes.INTERNAL).status).toBe(500);
  });
});

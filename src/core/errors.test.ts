import { describe, expect, it } from "vitest";
import {
  type ErrorCode,
  ErrorCodes,
  ErrorTable,
  errorEntry,
  isSwitchyardError,
  SwitchyardError,
  statusFor,
} from "./errors.js";

const codes = Object.values(ErrorCodes) as ErrorCode[];

describe("the error table", () => {
  it("gives every code a 4xx or 5xx status (a redirect's 3xx for SY_ERR_REDIRECTED) and a short message", () => {
    expect(codes.length).toBeGreaterThan(30);
    for (const code of codes) {
      const { status, message } = errorEntry(code);
      expect(status, code).toBeGreaterThanOrEqual(code === ErrorCodes.REDIRECTED ? 300 : 400);
      expect(status, code).toBeLessThanOrEqual(599);
      expect(Number.isInteger(status), code).toBe(true);
      expect(message.trim().length, code).toBeGreaterThan(0);
      expect(message.length, code).toBeLessThan(100);
    }
  });

  it("names every code once, SY_ERR_ and the name", () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, entry] of Object.entries(ErrorTable)) {
      expect(entry.code).toBe(`SY_ERR_${name}`);
      expect(ErrorCodes[name as keyof typeof ErrorCodes]).toBe(entry.code);
    }
  });

  it("maps the codes the proxy answers with to their usual statuses", () => {
    expect(statusFor(ErrorCodes.NO_BACKEND)).toBe(503);
    expect(statusFor(ErrorCodes.UPSTREAM_CONNECT)).toBe(502);
    expect(statusFor(ErrorCodes.UPSTREAM_TIMEOUT)).toBe(504);
    expect(statusFor(ErrorCodes.RATE_LIMITED)).toBe(429);
    expect(statusFor(ErrorCodes.HEADERS_TOO_LARGE)).toBe(431);
    expect(statusFor(ErrorCodes.URI_TOO_LONG)).toBe(414);
  });

  it("keeps coded errors recognisable by code", () => {
    const error = new SwitchyardError(ErrorCodes.NO_BACKEND, "none");
    expect(isSwitchyardError(error)).toBe(true);
    expect(isSwitchyardError(error, ErrorCodes.NO_BACKEND)).toBe(true);
    expect(isSwitchyardError(error, ErrorCodes.CONFIG)).toBe(false);
    expect(isSwitchyardError(new Error("plain"))).toBe(false);
  });
});

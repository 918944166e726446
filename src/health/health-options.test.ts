import { describe, expect, it } from "vitest";
import { healthCheckSchema, parseStatusRanges } from "./health-options.js";

describe("health options", () => {
  it("parses status expectations: a status, a range, or a list of them", () => {
    expect(parseStatusRanges(200)).toEqual([[200, 200]]);
    expect(parseStatusRanges("200-399")).toEqual([[200, 399]]);
    expect(parseStatusRanges([204, " 300 - 304 ", "418"])).toEqual([
      [204, 204],
      [300, 304],
      [418, 418],
    ]);
    for (const bad of [99, 600, 200.5, "2xx", "399-200", [], [200, "abc"], null]) {
      expect(parseStatusRanges(bad)).toBeUndefined();
    }
  });

  it("fills the original systems' defaults: GET /health every 5 s, 200-399, 2 s timeout, rise 2, fall 3", () => {
    expect(healthCheckSchema.parse({})).toEqual({
      type: "http",
      path: "/health",
      method: "GET",
      expectStatus: "200-399",
      timeoutMs: 2_000,
      intervalMs: 5_000,
      maxIntervalMs: 60_000,
      jitter: 0.1,
      rise: 2,
      fall: 3,
    });
  });

  it("takes check headers for HTTP checks only, refusing malformed or client-owned ones", () => {
    const headers = { Host: "app.internal", "x-token": "abc" };
    expect(healthCheckSchema.parse({ headers }).headers).toEqual(headers);
    const problem = (options: object) => healthCheckSchema.safeParse(options).error?.issues[0];
    expect(problem({ type: "tcp", headers })).toMatchObject({
      path: ["headers"],
      message: 'expected no headers unless type is "http"',
    });
    expect(problem({ headers: { "bad name": "x" } })?.path).toEqual(["headers", "bad name"]);
    expect(problem({ headers: { "x-a": "one\r\nx-b: two" } })?.path).toEqual(["headers", "x-a"]);
    expect(problem({ headers: { "Transfer-Encoding": "chunked" } })?.message).toMatch(/does not set itself/);
  });
});

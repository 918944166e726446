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
});

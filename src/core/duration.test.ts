import { describe, expect, it } from "vitest";
import { durationMs, formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it("reads milliseconds, seconds, minutes and hours", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("5s")).toBe(5_000);
    expect(parseDuration("1.1s")).toBe(1_100);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration(" 1 h ")).toBe(3_600_000);
    expect(parseDuration("0s")).toBe(0);
  });

  it("refuses anything else", () => {
    for (const text of ["", "5", "5 sec", "-1s", "1d", "s", "1.s", "5S", "1e3ms", "5s5"]) {
      expect(parseDuration(text), text).toBeUndefined();
    }
  });
});

describe("formatDuration", () => {
  it("picks the largest exact unit", () => {
    expect(formatDuration(600_000)).toBe("10m");
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(formatDuration(1_500)).toBe("1500ms");
    expect(formatDuration(2_000)).toBe("2s");
    expect(formatDuration(0)).toBe("0ms");
  });
});

describe("durationMs", () => {
  const schema = durationMs(1, 600_000);

  it("takes whole milliseconds or a duration string, and gives milliseconds", () => {
    expect(schema.parse(5_000)).toBe(5_000);
    expect(schema.parse("5s")).toBe(5_000);
    expect(schema.parse("250ms")).toBe(250);
    expect(schema.parse("10m")).toBe(600_000);
  });

  it("rejects garbage, fractions of a millisecond and values out of range with one message", () => {
    const message =
      'expected a duration from 1ms to 10m: whole milliseconds, or a number with a unit such as "250ms", "5s", "2m", "1h"';
    for (const value of ["5 seconds", "soon", "1.5ms", "11m", "0s", 0, 1.5, 600_001, true, null]) {
      const result = schema.safeParse(value);
      expect(result.success, String(value)).toBe(false);
      expect(result.error?.issues.map((issue) => issue.message)).toEqual([message]);
    }
  });
});

import { describe, expect, it } from "vitest";
import { formatGrpcTimeout, parseGrpcTimeout, takeGrpcTimeout } from "./grpc-timeout.js";

describe("grpc-timeout", () => {
  it("reads every unit as milliseconds", () => {
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("5S")).toBe(5_000);
    expect(parseGrpcTimeout("100m")).toBe(100);
    expect(parseGrpcTimeout("2500u")).toBe(2.5);
    expect(parseGrpcTimeout("99999999n")).toBeCloseTo(99.999999);
    expect(parseGrpcTimeout(" 7S ")).toBe(7_000);
    expect(parseGrpcTimeout("0m")).toBe(0);
  });

  it("calls anything else malformed", () => {
    for (const value of ["", "100", "m", "123456789m", "1.5S", "-1S", "10 S", "10s", "1S2", "1 S", "0x10m"]) {
      expect(parseGrpcTimeout(value), value).toBeUndefined();
    }
  });

  it("writes the time left in the finest unit that holds it in 8 digits, rounded up", () => {
    expect(formatGrpcTimeout(87.2)).toBe("88m");
    expect(formatGrpcTimeout(0.3)).toBe("1m");
    expect(formatGrpcTimeout(-4)).toBe("1m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(200_000_000_000)).toBe("3333334M");
    expect(formatGrpcTimeout(1e20)).toBe("99999999H");
    for (const ms of [1, 999, 61_000, 123_456_789]) {
      expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
    }
  });

  it("takes the field out of an upstream header list, whatever its case, and reads it once", () => {
    const headers = ["te", "trailers", "Grpc-Timeout", "250m", "x-id", "7"];
    expect(takeGrpcTimeout(headers)).toBe(250);
    expect(headers).toEqual(["te", "trailers", "x-id", "7"]);
    const malformed = ["grpc-timeout", "soon", "x-id", "7"];
    expect(takeGrpcTimeout(malformed)).toBeUndefined();
    expect(malformed).toEqual(["x-id", "7"]);
    const repeated = ["grpc-timeout", "1S", "grpc-timeout", "2S"];
    expect(takeGrpcTimeout(repeated)).toBeUndefined();
    expect(repeated).toEqual([]);
    expect(takeGrpcTimeout(["x-id", "7"])).toBeUndefined();
  });
});

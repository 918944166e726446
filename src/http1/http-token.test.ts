import { describe, expect, it } from "vitest";
import { isToken, TCHAR } from "./http-token.js";

describe("isToken", () => {
  it("accepts runs of tchars", () => {
    expect(isToken("GET")).toBe(true);
    expect(isToken("x-forwarded-for")).toBe(true);
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
  });

  it("refuses the empty string, separators, controls and bytes beyond ASCII", () => {
    for (const bad of ["", "a b", "a:b", "a,b", '"a"', "a\tb", "a\x7f", "caf\xe9", "a\u0100"]) {
      expect(isToken(bad)).toBe(false);
    }
  });

  it("has a table entry for every byte", () => {
    expect(TCHAR.length).toBe(256);
    expect(TCHAR.reduce((sum, flag) => sum + flag, 0)).toBe(77);
  });
});

import { describe, expect, it } from "vitest";
import { isNamed, startsNamed } from "./header-names.js";

describe("isNamed", () => {
  it("matches a name in any ASCII case", () => {
    for (const name of ["content-length", "Content-Length", "CONTENT-LENGTH", "cOnTeNt-LeNgTh"]) {
      expect(isNamed(name, "content-length")).toBe(true);
    }
  });

  it("folds letters only: bytes 0x20 apart that are not letters stay different", () => {
    // "@" is 0x40 and "`" 0x60; "[" 0x5b and "{" 0x7b; CR 0x0d and "-" 0x2d.
    expect(isNamed("a@b", "a`b")).toBe(false);
    expect(isNamed("a[b", "a{b")).toBe(false);
    expect(isNamed("x\ry", "x-y")).toBe(false);
    expect(isNamed("\u00c9", "\u00e9")).toBe(false);
  });

  it("needs the whole name", () => {
    expect(isNamed("host", "hos")).toBe(false);
    expect(isNamed("hos", "host")).toBe(false);
    expect(isNamed("", "")).toBe(true);
  });
});

describe("startsNamed", () => {
  it("matches a prefix in any ASCII case", () => {
    expect(startsNamed("Proxy-Authorization", "proxy-")).toBe(true);
    expect(startsNamed("PROXY-", "proxy-")).toBe(true);
    expect(startsNamed("Proxy", "proxy-")).toBe(false);
    expect(startsNamed("Proxyx", "proxy-")).toBe(false);
  });
});

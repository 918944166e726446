import { describe, expect, it } from "vitest";
import { closest, describeValue, formatPath, levenshtein, valueAt } from "./errors.js";

describe("levenshtein", () => {
  it("counts insertions, deletions and substitutions", () => {
    expect(levenshtein("algoritm", "algorithm")).toBe(1);
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("same", "same")).toBe(0);
  });
});

describe("closest", () => {
  it("suggests the nearest candidate within two edits", () => {
    expect(closest("algoritm", ["algorithm", "backends"])).toBe("algorithm");
    expect(closest("wieght", ["id", "address", "weight"])).toBe("weight");
    expect(closest("Backend", ["backends"])).toBe("backends");
  });

  it("suggests nothing for distant or very short words", () => {
    expect(closest("colour", ["algorithm", "backends"])).toBeUndefined();
    expect(closest("x", ["id"])).toBeUndefined();
  });
});

describe("formatPath", () => {
  it("writes keys with dots and indexes with brackets", () => {
    expect(formatPath(["pools", "web", "backends", 1, "weight"])).toBe("pools.web.backends[1].weight");
    expect(formatPath(["listeners", 0])).toBe("listeners[0]");
    expect(formatPath(["pools", "my pool"])).toBe('pools["my pool"]');
    expect(formatPath([])).toBe("(root)");
  });
});

describe("describeValue", () => {
  it("renders JSON, truncates long values, and names absence", () => {
    expect(describeValue(20000)).toBe("20000");
    expect(describeValue("p2c")).toBe('"p2c"');
    expect(describeValue(undefined)).toBe("nothing");
    const long = describeValue("x".repeat(200));
    expect(long.length).toBe(60);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("valueAt", () => {
  it("walks objects and arrays and stops at missing keys", () => {
    const input = { pools: { web: { backends: [{ weight: 3 }] } } };
    expect(valueAt(input, ["pools", "web", "backends", 0, "weight"])).toBe(3);
    expect(valueAt(input, ["pools", "api"])).toBeUndefined();
    expect(valueAt(input, ["pools", "web", "backends", 0, "weight", "x"])).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { parseBackendsFile } from "./backends-file.js";

const problem = (text: string) => {
  try {
    parseBackendsFile(text);
  } catch (error) {
    return error as Error & { code: string };
  }
  throw new Error("expected the file to be refused");
};

describe("the backends file", () => {
  it("takes addresses and backend objects, with the config's defaults", () => {
    const text = JSON.stringify([
      "10.0.0.1:8080",
      { address: "http://10.0.0.2:8080", weight: 3, region: "eu", labels: { zone: "a" } },
      { id: "c", address: "10.0.0.2:8080", enabled: false },
    ]);
    expect(parseBackendsFile(text)).toEqual([
      { address: "10.0.0.1:8080", weight: 1, enabled: true },
      { address: "http://10.0.0.2:8080", weight: 3, region: "eu", labels: { zone: "a" }, enabled: true },
      { id: "c", address: "10.0.0.2:8080", weight: 1, enabled: false },
    ]);
    expect(parseBackendsFile("[]")).toEqual([]);
  });

  it("names every problem on one line", () => {
    expect(problem("[1, ").message).toMatch(/^invalid JSON: /);
    expect(problem('{"backends": []}').message).toBe(
      'expected a JSON array of backends ("host:port" or { "address": ... })',
    );
    const bad = problem(JSON.stringify(["nope", { address: "10.0.0.1:80", weight: -1, wieght: 2 }]));
    expect(bad.code).toBe("SY_ERR_CONFIG");
    expect(bad.message).toContain("[0].address: expected a backend address");
    expect(bad.message).toContain("[1].weight: expected a number from 0 to 10000");
    expect(bad.message).toContain('[1]: Unrecognized key: "wieght"');
    expect(bad.message).not.toContain("\n");
  });

  it("refuses an address listed twice without distinct ids, and deep nesting", () => {
    expect(problem(JSON.stringify(["10.0.0.1:80", { address: "10.0.0.1:80" }])).message).toBe(
      '[1]: backend "10.0.0.1:80" is also [0] (give distinct ids to repeat an address)',
    );
    expect(problem(`${"[".repeat(100)}${"]".repeat(100)}`).message).toMatch(/nested deeper than 64 levels/);
  });
});

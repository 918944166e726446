import { describe, expect, it } from "vitest";
import { jsonNestingExceededAt, MAX_NESTING_DEPTH, tooDeepNode, valueNestingExceeds } from "./nesting.js";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("nesting limits", () => {
  it("finds where JSON text opens a level too deep, counting brackets outside strings only", () => {
    expect(jsonNestingExceededAt(nested(MAX_NESTING_DEPTH))).toBe(-1);
    expect(jsonNestingExceededAt(nested(MAX_NESTING_DEPTH + 1))).toBe(MAX_NESTING_DEPTH);
    expect(jsonNestingExceededAt('{"a": [{"b": 1}]}', 3)).toBe(-1);
    expect(jsonNestingExceededAt('{"a": [{"b": [1]}]}', 3)).toBe(13);
    expect(jsonNestingExceededAt('["[[[[", "\\"[[[["]', 1)).toBe(-1);
    // Malformed text is read, not parsed: no throw, however deep or unbalanced.
    expect(jsonNestingExceededAt("[".repeat(100_000))).toBe(MAX_NESTING_DEPTH);
    expect(jsonNestingExceededAt("]]]]{")).toBe(-1);
  });

  it("walks a 100,000-deep value without recursion, and counts a cycle as too deep", () => {
    let deep: unknown[] = [];
    for (let level = 1; level < 100_000; level++) deep = [deep];
    expect(valueNestingExceeds(deep)).toBe(true);
    expect(valueNestingExceeds({ a: [{ b: "c" }] }, 3)).toBe(false);
    expect(valueNestingExceeds({ a: [{ b: {} }] }, 3)).toBe(true);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(valueNestingExceeds(cycle)).toBe(true);
  });

  it("names the first node past the limit in any tree", () => {
    type Tree = { name: string; kids?: Tree[] };
    const tree: Tree = {
      name: "root",
      kids: [{ name: "leaf" }, { name: "mid", kids: [{ name: "low", kids: [] }] }],
    };
    expect(tooDeepNode(tree, (node) => node.kids, 3)).toBeUndefined();
    expect(tooDeepNode(tree, (node) => node.kids, 2)?.name).toBe("low");
  });
});

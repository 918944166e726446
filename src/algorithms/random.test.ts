import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { RandomSelector } from "./random.js";
import { countPicks, follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

runSelectorSuite("random (weighted)", {
  create: (env) => new RandomSelector({ weighted: true }, env),
  weighted: true,
});
runSelectorSuite("random (uniform)", {
  create: (env) => new RandomSelector({ weighted: false }, env),
  weighted: false,
});

describe("random", () => {
  it("is deterministic for a given seed", () => {
    const run = () => {
      const selector = follow(makePool(5), new RandomSelector({ weighted: true }, testEnv(3)));
      return Array.from({ length: 20 }, () => selector.pick({}, acceptReady)?.id);
    };
    expect(run()).toEqual(run());
  });

  it("never draws a weight-0 backend when weighted", () => {
    const selector = follow(makePool(3, [1, 0, 1]), new RandomSelector({ weighted: true }, testEnv()));
    expect(countPicks(selector, 500).has("b1")).toBe(false);
  });
});

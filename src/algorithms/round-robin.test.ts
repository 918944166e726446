import { describe, expect, it } from "vitest";
import { acceptReady } from "../core/selector.js";
import { RoundRobinSelector } from "./round-robin.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

runSelectorSuite("round-robin", { create: () => new RoundRobinSelector(), weighted: false });

describe("round-robin", () => {
  it("cycles through backends in order, ignoring weights", () => {
    const selector = follow(makePool(3, [5, 1, 1]), new RoundRobinSelector());
    const ids = Array.from({ length: 7 }, () => selector.pick({}, acceptReady)?.id);
    expect(ids).toEqual(["b0", "b1", "b2", "b0", "b1", "b2", "b0"]);
  });

  it("skips a disabled backend and keeps the rotation among the rest", () => {
    const pool = makePool(3);
    const selector = follow(pool, new RoundRobinSelector());
    pool.disable("b1");
    const ids = Array.from({ length: 4 }, () => selector.pick({}, acceptReady)?.id);
    expect(ids).toEqual(["b0", "b2", "b0", "b2"]);
  });
});

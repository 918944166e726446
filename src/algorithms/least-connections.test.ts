import { describe, expect, it } from "vitest";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { LeastConnectionsSelector } from "./least-connections.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

runSelectorSuite("least-connections", { create: () => new LeastConnectionsSelector(), weighted: true });

describe("least-connections", () => {
  it("picks the backend with the least in flight", () => {
    const pool = makePool(3);
    const selector = follow(pool, new LeastConnectionsSelector());
    const [b0, b1, b2] = pool.backends;
    if (!b0 || !b1 || !b2) throw new Error("pool");
    b0.inFlight = 4;
    b1.inFlight = 1;
    b2.inFlight = 3;
    for (const backend of pool.backends) selector.loadChanged?.(backend);
    expect(selector.pick({}, acceptReady)).toBe(b1);
    b1.inFlight = 9;
    selector.loadChanged?.(b1);
    expect(selector.pick({}, acceptReady)).toBe(b2);
  });

  it("divides load by weight", () => {
    const pool = makePool(2, [1, 4]);
    const selector = follow(pool, new LeastConnectionsSelector());
    const [light, heavy] = pool.backends;
    if (!light || !heavy) throw new Error("pool");
    light.inFlight = 1;
    heavy.inFlight = 3;
    selector.loadChanged?.(light);
    selector.loadChanged?.(heavy);
    // (3+1)/4 = 1 beats (1+1)/1 = 2.
    expect(selector.pick({}, acceptReady)).toBe(heavy);
  });

  it("rotates among idle backends instead of piling onto one", () => {
    const selector = follow(makePool(3), new LeastConnectionsSelector());
    const ids = Array.from({ length: 6 }, () => selector.pick({}, acceptReady)?.id);
    expect(new Set(ids.slice(0, 3))).toEqual(new Set(["b0", "b1", "b2"]));
    expect(ids.slice(3)).toEqual(ids.slice(0, 3));
  });

  it("skips the least-loaded backend once tried", () => {
    const pool = makePool(3);
    const selector = follow(pool, new LeastConnectionsSelector());
    const [b0, b1, b2] = pool.backends;
    if (!b0 || !b1 || !b2) throw new Error("pool");
    b0.inFlight = 5;
    b2.inFlight = 2;
    for (const backend of pool.backends) selector.loadChanged?.(backend);
    expect(selector.pick({}, acceptUntried([b1]), [b1])).toBe(b2);
  });
});

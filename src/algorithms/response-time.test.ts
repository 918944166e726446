import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady } from "../core/selector.js";
import { responseTime } from "./response-time.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = (window = 50) =>
  responseTime.create(responseTime.options.parse({ window }), { random: Math.random, now: () => 0 });

runSelectorSuite("response-time", { create: () => create(), weighted: false });

describe("response-time", () => {
  it("prefers the lowest mean response time, and only the last N samples count", () => {
    const pool = makePool(2);
    const selector = follow(pool, create(3));
    const [a, b] = pool.backends as [Backend, Backend];
    for (const latencyMs of [100, 100, 100]) selector.observe?.(a, { status: 200, latencyMs });
    for (const latencyMs of [50, 50, 50]) selector.observe?.(b, { status: 200, latencyMs });
    expect(selector.pick({}, acceptReady)).toBe(b);
    // Three fast responses push a's slow ones out of its window entirely.
    for (const latencyMs of [10, 10, 10]) selector.observe?.(a, { status: 200, latencyMs });
    expect(selector.score?.(a)).toBe(10);
    expect(selector.pick({}, acceptReady)).toBe(a);
  });
});

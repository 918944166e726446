import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { EwmaLatencyLoad } from "../load/ewma-latency.js";
import { LeastLoadedSelector } from "./least-loaded.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = () =>
  new LeastLoadedSelector("least-latency", new EwmaLatencyLoad({ alpha: 0.2, failurePenaltyMs: 1000 }));

runSelectorSuite("least-latency", { create, weighted: false });

describe("least-latency", () => {
  it("prefers the backend with the lowest latency EWMA", () => {
    const pool = makePool(3);
    const selector = follow(pool, create());
    const [a, b, c] = pool.backends as [Backend, Backend, Backend];
    selector.observe?.(a, { status: 200, latencyMs: 50 });
    selector.observe?.(b, { status: 200, latencyMs: 10 });
    selector.observe?.(c, { status: 200, latencyMs: 30 });
    expect(selector.pick({}, acceptReady)).toBe(b);
    expect(selector.pick({}, acceptUntried([b]), [b])).toBe(c);
  });

  it("moves the estimate by alpha of each new sample", () => {
    const pool = makePool(1);
    const selector = follow(pool, create());
    const [a] = pool.backends as [Backend];
    selector.observe?.(a, { latencyMs: 100 });
    selector.observe?.(a, { latencyMs: 200 });
    expect(selector.score?.(a)).toBeCloseTo(120);
  });

  it("tries unmeasured backends first and charges failures a penalty", () => {
    const pool = makePool(2);
    const selector = follow(pool, create());
    const [a, b] = pool.backends as [Backend, Backend];
    selector.observe?.(a, { latencyMs: 5 });
    expect(selector.pick({}, acceptReady)).toBe(b);
    selector.observe?.(b, { error: "ECONNRESET" });
    expect(selector.score?.(b)).toBe(1000);
    expect(selector.pick({}, acceptReady)).toBe(a);
  });
});

import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, type SelectorEnv } from "../core/selector.js";
import { AdaptiveSelector, adaptive } from "./adaptive.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

const options = adaptive.options.parse({ resetIntervalMs: 1000 });

runSelectorSuite("adaptive", { create: (env) => new AdaptiveSelector(options, env), weighted: true });

describe("adaptive", () => {
  function setup() {
    let now = 0;
    const env: SelectorEnv = { random: testEnv().random, now: () => now };
    const pool = makePool(2);
    const selector = follow(pool, new AdaptiveSelector(options, env)) as AdaptiveSelector;
    const [a, b] = pool.backends as [Backend, Backend];
    return { pool, selector, a, b, advance: (ms: number) => (now += ms) };
  }

  it("scores speed, penalises errors and rewards health", () => {
    const { pool, selector, a, b } = setup();
    expect(selector.performance(a)).toBeCloseTo(1.1);
    selector.observe(a, { status: 200, latencyMs: 100 });
    expect(selector.performance(a)).toBeCloseTo(0.5 + 0.1);
    selector.observe(a, { error: "ECONNRESET" });
    // Failure rate 1/2 with penalty 2 wipes out the speed term; only the health bonus remains.
    expect(selector.performance(a)).toBeCloseTo(0.1);
    pool.setState("b1", "degraded");
    expect(selector.performance(b)).toBeCloseTo(1);
    expect(selector.pick({}, acceptReady)).toBe(b);
  });

  it("forgets history after the reset interval", () => {
    const { selector, a, advance } = setup();
    selector.observe(a, { error: "ECONNRESET" });
    expect(selector.performance(a)).toBeCloseTo(0.1);
    advance(1000);
    selector.pick({}, acceptReady);
    expect(selector.performance(a)).toBeCloseTo(1.1);
  });
});

import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { seededRandom } from "../core/random.js";
import { acceptReady, type SelectorEnv } from "../core/selector.js";
import { peakEwma } from "./peak-ewma.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = (env: SelectorEnv) => peakEwma.create(peakEwma.options.parse({}), env);

runSelectorSuite("peak-ewma", { create, weighted: true });

describe("peak-ewma", () => {
  function setup() {
    let now = 0;
    const env: SelectorEnv = { random: seededRandom(5), now: () => now };
    const pool = makePool(2);
    const selector = follow(pool, create(env));
    const [a, b] = pool.backends as [Backend, Backend];
    return { selector, a, b, advance: (ms: number) => (now += ms) };
  }

  it("jumps to a slow sample at once", () => {
    const { selector, a, b } = setup();
    selector.observe?.(a, { latencyMs: 10 });
    selector.observe?.(b, { latencyMs: 10 });
    selector.observe?.(a, { latencyMs: 400 });
    expect(selector.score?.(a)).toBe(400);
    for (let i = 0; i < 20; i++) expect(selector.pick({}, acceptReady)).toBe(b);
  });

  it("decays toward faster samples with time, not at once", () => {
    const { selector, a, advance } = setup();
    selector.observe?.(a, { latencyMs: 400 });
    advance(100);
    selector.observe?.(a, { latencyMs: 10 });
    const afterShortGap = selector.score?.(a) as number;
    expect(afterShortGap).toBeGreaterThan(350);
    advance(30_000);
    selector.observe?.(a, { latencyMs: 10 });
    expect(selector.score?.(a)).toBeLessThan(40);
  });

  it("multiplies latency by the work in flight", () => {
    const { selector, a, b } = setup();
    selector.observe?.(a, { latencyMs: 10 });
    selector.observe?.(b, { latencyMs: 20 });
    a.inFlight = 3;
    expect(selector.score?.(a)).toBe(40);
    expect(selector.score?.(b)).toBe(20);
    expect(selector.pick({}, acceptReady)).toBe(b);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, type SelectorEnv } from "../core/selector.js";
import { PowerOfTwoChoicesSelector } from "./power-of-two-choices.js";
import { follow, makePool, runSelectorSuite, testEnv } from "./selector.case.js";

runSelectorSuite("power-of-two-choices", {
  create: (env) => new PowerOfTwoChoicesSelector(env),
  weighted: true,
});

/** An env whose random source records every draw, to recover which two backends were sampled. */
function recordingEnv(seed: number): { env: SelectorEnv; draws: number[] } {
  const inner = testEnv(seed);
  const draws: number[] = [];
  return {
    draws,
    env: {
      now: inner.now,
      random: () => {
        const value = inner.random();
        draws.push(value);
        return value;
      },
    },
  };
}

describe("power-of-two-choices", () => {
  it("never picks the worse of its two samples", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 16 }),
        fc.integer(),
        (loads, seed) => {
          const pool = makePool(loads.length);
          pool.backends.forEach((backend, i) => {
            backend.inFlight = loads[i] as number;
          });
          const { env, draws } = recordingEnv(seed);
          const selector = follow(pool, new PowerOfTwoChoicesSelector(env));
          const picked = selector.pick({}, acceptReady) as Backend;
          const count = pool.size;
          const i = Math.floor((draws[0] as number) * count);
          let j = Math.floor((draws[1] as number) * (count - 1));
          if (j >= i) j++;
          const a = pool.backends[i] as Backend;
          const b = pool.backends[j] as Backend;
          expect([a, b]).toContain(picked);
          expect(picked.inFlight).toBe(Math.min(a.inFlight, b.inFlight));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("moves load away from a busy backend", () => {
    const pool = makePool(4);
    const [busy] = pool.backends;
    if (!busy) throw new Error("pool");
    busy.inFlight = 50;
    const selector = follow(pool, new PowerOfTwoChoicesSelector(testEnv(1)));
    const picks = Array.from({ length: 400 }, () => selector.pick({}, acceptReady));
    expect(picks.filter((backend) => backend === busy)).toHaveLength(0);
  });
});

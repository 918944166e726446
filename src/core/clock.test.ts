import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { holdClock, now, releaseClock } from "./clock.js";

/** Spins until the clock has moved past `time`. */
function waitPast(time: number): void {
  while (performance.now() <= time) {
    // busy wait: microseconds
  }
}

describe("clock", () => {
  it("reads the clock at each call outside a hold", () => {
    const first = now();
    waitPast(first);
    expect(now()).toBeGreaterThan(first);
  });

  it("shares the first reading of a hold until it is released", () => {
    const before = now();
    waitPast(before);
    const outer = holdClock();
    const held = now();
    expect(held).toBeGreaterThan(before);
    waitPast(held);
    expect(now()).toBe(held);
    releaseClock(outer);
    expect(now()).toBeGreaterThan(held);
  });

  it("restores the outer hold when a nested one ends", () => {
    const outer = holdClock();
    const held = now();
    waitPast(held);
    const inner = holdClock();
    const innerHeld = now();
    expect(innerHeld).toBeGreaterThan(held);
    releaseClock(inner);
    expect(now()).toBe(held);
    releaseClock(outer);
    expect(now()).toBeGreaterThan(held);
  });
});

import { describe, expect, it } from "vitest";
import { WARMUP_STEPS, WarmupRamp } from "./warm-up.js";

function recorder() {
  const shares = new Map<number, number>();
  return { shares, target: { setWeightShare: (index: number, share: number) => shares.set(index, share) } };
}

describe("warm-up ramp", () => {
  it("ramps only members that join a running pool, in steps from minShare to 1", () => {
    const ramp = new WarmupRamp(1_000, 0.2);
    ramp.sync(["a", "b"], 0);
    expect(ramp.active).toBe(0);
    ramp.sync(["a", "b", "c"], 500);
    expect(ramp.active).toBe(1);
    const { shares, target } = recorder();
    expect(ramp.advance(500, target)).toBe(true);
    expect(shares.get(2)).toBe(0.2);
    expect(ramp.advance(504, target)).toBe(false);
    expect(ramp.advance(1_000, target)).toBe(true);
    expect(shares.get(2)).toBeCloseTo(0.6, 10);
    expect(ramp.progress("c", 1_000)).toBe(0.5);
    expect(ramp.warming(1_000)).toEqual([{ id: "c", progress: 0.5 }]);
    expect(ramp.advance(1_500, target)).toBe(true);
    expect(shares.get(2)).toBe(1);
    expect(ramp.active).toBe(0);
    expect(ramp.progress("c", 1_500)).toBe(1);
    expect(shares.has(0)).toBe(false);
  });

  it("keeps a ramp across syncs, restarts it for a re-added id, and can be off", () => {
    const ramp = new WarmupRamp(1_000, 0.1);
    ramp.sync(["a"], 0);
    ramp.sync(["a", "b"], 100);
    ramp.sync(["b", "a"], 400);
    expect(ramp.progress("b", 600)).toBe(0.5);
    ramp.sync(["a"], 700);
    ramp.sync(["a", "b"], 800);
    expect(ramp.progress("b", 900)).toBeCloseTo(0.1, 10);
    const off = new WarmupRamp(0, 0.1);
    off.sync(["a"], 0);
    off.sync(["a", "b"], 1);
    expect(off.active).toBe(0);
  });

  it("moves through at most WARMUP_STEPS + 1 distinct shares", () => {
    const ramp = new WarmupRamp(10_000, 0.1);
    ramp.sync(["a"], 0);
    ramp.sync(["a", "b"], 0);
    const seen = new Set<number>();
    const target = { setWeightShare: (_: number, share: number) => seen.add(share) };
    for (let t = 0; t <= 10_000; t += 7) ramp.advance(t, target);
    ramp.advance(10_000, target);
    expect(seen.size).toBe(WARMUP_STEPS + 1);
  });
});

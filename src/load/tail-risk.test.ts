import { describe, expect, it } from "vitest";
import { Backend } from "../core/backend.js";
import {
  ADAPT_CAP,
  ADAPT_STEP,
  AdaptiveWeights,
  REFERENCE_WEIGHT,
  TAIL_TOLERANCE,
  TailRiskLoad,
} from "./tail-risk.js";

function setup(options: { alpha?: number; beta?: number; gamma?: number } = {}) {
  let now = 0;
  const weights = new AdaptiveWeights({ beta: options.beta ?? 1, gamma: options.gamma ?? 1 });
  const load = new TailRiskLoad({ alpha: options.alpha ?? 0.5, failurePenaltyMs: 1000 }, weights, () => now);
  const backend = (id: string, weight = 1) => new Backend({ id, address: `10.0.0.1:${id.length}`, weight });
  /** Opens `n` attempts on `b` as the balancer does (in flight +1, then loadChanged). */
  const open = (b: Backend, n = 1) => {
    for (let i = 0; i < n; i++) {
      b.inFlight++;
      load.loadChanged(b);
    }
  };
  /** Closes one attempt as the balancer does: in flight −1, loadChanged, then observe. */
  const close = (b: Backend, outcome: { latencyMs?: number; error?: string; status?: number }) => {
    b.inFlight--;
    load.loadChanged(b);
    load.observe(b, outcome);
  };
  return { load, weights, backend, open, close, advance: (ms: number) => (now += ms) };
}

describe("TailRiskLoad: work", () => {
  it("is the EWMA latency times (in flight + 1)", () => {
    const { load, backend, open, close } = setup({ alpha: 0.5 });
    const b = backend("a");
    open(b);
    close(b, { latencyMs: 10 });
    open(b);
    close(b, { latencyMs: 30 });
    // 10, then 10 + 0.5 × (30 − 10) = 20.
    expect(load.work(b)).toBe(20);
    open(b, 3);
    expect(load.work(b)).toBe(80);
  });

  it("charges an unmeasured backend the pool-wide EWMA (1 ms before any sample)", () => {
    const { load, backend, open, close } = setup({ alpha: 0.5 });
    const a = backend("a");
    const fresh = backend("fresh");
    expect(load.work(fresh)).toBe(1);
    open(a);
    close(a, { latencyMs: 40 });
    expect(load.work(fresh)).toBe(40);
  });

  it("charges a failure max(latency, failurePenaltyMs), without moving the baseline", () => {
    const { load, backend, open, close } = setup({ alpha: 0.5 });
    const b = backend("a");
    open(b);
    close(b, { latencyMs: 10 });
    open(b);
    close(b, { error: "connection reset", latencyMs: 2 });
    expect(load.work(b)).toBe(505);
    expect(load.baseline(b)).toBe(10);
    open(b);
    close(b, { status: 503, latencyMs: 3 });
    expect(load.work(b)).toBe(752.5);
  });
});

describe("TailRiskLoad: interference", () => {
  it("is ~0 on a steady backend, even a slow one, and high on an erratic one", () => {
    const { load, backend, open, close } = setup({ alpha: 0.2 });
    const steadySlow = backend("slow");
    const erratic = backend("erratic");
    for (let i = 0; i < 200; i++) {
      open(steadySlow);
      close(steadySlow, { latencyMs: 50 });
      open(erratic);
      close(erratic, { latencyMs: i % 5 === 0 ? 60 : 5 });
    }
    expect(load.interference(steadySlow)).toBe(0);
    expect(load.interference(erratic)).toBeGreaterThan(5);
  });

  it("jumps when a backend slows down relative to its own baseline, then fades as the baseline catches up", () => {
    const { load, backend, open, close } = setup({ alpha: 0.2 });
    const b = backend("a");
    for (let i = 0; i < 100; i++) {
      open(b);
      close(b, { latencyMs: 10 });
    }
    for (let i = 0; i < 10; i++) {
      open(b);
      close(b, { latencyMs: 100 });
    }
    const early = load.interference(b);
    expect(early).toBeGreaterThan(50);
    for (let i = 0; i < 2000; i++) {
      open(b);
      close(b, { latencyMs: 100 });
    }
    expect(load.interference(b)).toBeLessThan(early / 10);
  });
});

describe("TailRiskLoad: age", () => {
  it("is 0 when idle and grows while busy without a completion", () => {
    const { load, backend, open, close, advance } = setup();
    const b = backend("a");
    expect(load.age(b)).toBe(0);
    advance(100);
    open(b, 2);
    advance(30);
    expect(load.age(b)).toBe(30);
    advance(70);
    expect(load.age(b)).toBe(100);
    close(b, { latencyMs: 100 });
    expect(load.age(b)).toBe(0);
    advance(5);
    expect(load.age(b)).toBe(5);
    close(b, { latencyMs: 105 });
    expect(load.age(b)).toBe(0);
  });

  it("does not count a cancelled hedge as a completion", () => {
    const { load, backend, open, advance } = setup();
    const b = backend("a");
    open(b, 2);
    advance(40);
    b.inFlight--;
    load.loadChanged(b);
    load.ignore(b);
    advance(10);
    expect(load.age(b)).toBe(50);
  });

  it("adds γ·age to the load, so a stalled backend loses to a busy but moving one", () => {
    const { load, backend, open, close, advance } = setup({ gamma: 1 });
    const stalled = backend("stalled");
    const moving = backend("moving");
    for (const b of [stalled, moving]) {
      open(b);
      close(b, { latencyMs: 10 });
    }
    open(stalled, 2);
    open(moving, 2);
    for (let i = 0; i < 20; i++) {
      advance(10);
      close(moving, { latencyMs: 10 });
      open(moving);
    }
    expect(load.age(stalled)).toBe(200);
    expect(load.load(stalled)).toBeGreaterThan(load.load(moving) + 150);
  });
});

describe("TailRiskLoad: score", () => {
  it("is (work + β·interference + γ·age) / weight, infinite at weight 0", () => {
    const { load, weights, backend, open, close, advance } = setup({ alpha: 0.5, beta: 2, gamma: 3 });
    const b = backend("a", 2);
    open(b);
    close(b, { latencyMs: 10 });
    open(b);
    close(b, { latencyMs: 30 });
    open(b);
    advance(4);
    const expected = (load.work(b) + 2 * load.interference(b) + 3 * load.age(b)) / 2;
    expect(load.interference(b)).toBeGreaterThan(0);
    expect(load.load(b)).toBeCloseTo(expected, 9);
    weights.beta = 0;
    weights.gamma = 0;
    expect(load.load(b)).toBe(load.work(b) / 2);
    expect(load.load(backend("zero", 0))).toBe(Number.POSITIVE_INFINITY);
  });

  it("forgets a backend on reset", () => {
    const { load, backend, open, close } = setup({ alpha: 0.5 });
    const a = backend("a");
    const b = backend("b");
    open(a);
    close(a, { latencyMs: 10 });
    open(b);
    close(b, { error: "refused" });
    load.reset(b);
    expect(load.work(b)).toBe(load.work(backend("unmeasured")));
    expect(load.interference(b)).toBe(0);
  });
});

describe("AdaptiveWeights", () => {
  it("raises β and γ by a step of their base while p99 exceeds the target, up to the cap", () => {
    const weights = new AdaptiveWeights({ beta: 2, gamma: 0.5, targetP99Ms: 100 });
    weights.adapt(150);
    expect(weights.beta).toBe(2 + 2 * ADAPT_STEP);
    expect(weights.gamma).toBe(0.5 + 0.5 * ADAPT_STEP);
    for (let i = 0; i < 100; i++) weights.adapt(150);
    expect(weights.beta).toBe(2 * ADAPT_CAP);
    expect(weights.gamma).toBe(0.5 * ADAPT_CAP);
    expect(weights.targetP99Ms).toBe(100);
  });

  it("holds between 80% of target and target, and decays back to base when comfortably below", () => {
    const weights = new AdaptiveWeights({ beta: 1, gamma: 1, targetP99Ms: 100 });
    for (let i = 0; i < 8; i++) weights.adapt(120);
    const raised = weights.beta;
    expect(raised).toBeGreaterThan(2);
    weights.adapt(90);
    expect(weights.beta).toBe(raised);
    weights.adapt(50);
    expect(weights.beta).toBeLessThan(raised);
    expect(weights.beta).toBeGreaterThan(1);
    for (let i = 0; i < 200; i++) weights.adapt(50);
    expect(weights.beta).toBeCloseTo(1, 6);
    expect(weights.gamma).toBeCloseTo(1, 6);
  });

  it("keeps a term switched off when its base is 0", () => {
    const weights = new AdaptiveWeights({ beta: 0, gamma: 1, targetP99Ms: 10 });
    for (let i = 0; i < 20; i++) weights.adapt(1000);
    expect(weights.beta).toBe(0);
    expect(weights.gamma).toBe(ADAPT_CAP);
  });

  it("without a target, reacts to the p99 rising above its own recent level, and settles when that becomes the norm", () => {
    const weights = new AdaptiveWeights({ beta: 1, gamma: 1 });
    for (let i = 0; i < 50; i++) weights.adapt(40);
    expect(weights.beta).toBe(1);
    expect(weights.referenceP99Ms).toBeCloseTo(40, 6);
    expect(weights.targetP99Ms).toBeCloseTo(TAIL_TOLERANCE * 40, 6);
    // The tail doubles: above target at once, so the weights climb.
    for (let i = 0; i < 4; i++) weights.adapt(80);
    expect(weights.beta).toBeGreaterThan(1.9);
    // It stays doubled: the reference catches up (weight REFERENCE_WEIGHT per reading) and the weights decay.
    for (let i = 0; i < 10 / REFERENCE_WEIGHT; i++) weights.adapt(80);
    expect(weights.referenceP99Ms).toBeGreaterThan(79);
    expect(weights.beta).toBeLessThan(1.1);
  });
});

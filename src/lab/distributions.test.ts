import { describe, expect, it } from "vitest";
import { seededRandom } from "../core/random.js";
import {
  deriveSeed,
  exponentialQuantile,
  KeySampler,
  normalQuantile,
  randomStreams,
  ServiceTime,
  type ServiceTimeSpec,
} from "./distributions.js";

function sampleMean(service: ServiceTime, n: number, seed: number): number {
  const random = seededRandom(seed);
  let total = 0;
  for (let i = 0; i < n; i++) total += service.quantile(random());
  return total / n;
}

describe("normalQuantile", () => {
  it("matches known values of the standard normal", () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959964, 5);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });

  it("stays finite at the ends", () => {
    expect(Number.isFinite(normalQuantile(0))).toBe(true);
    expect(Number.isFinite(normalQuantile(1))).toBe(true);
  });
});

describe("ServiceTime", () => {
  const specs: ServiceTimeSpec[] = [
    { kind: "exponential", meanMs: 10 },
    { kind: "lognormal", meanMs: 10, sigma: 0.6 },
    { kind: "bimodal", fastMs: 5, slowMs: 50, slowFraction: 0.1 },
  ];

  for (const spec of specs) {
    it(`${spec.kind}: sample mean ≈ declared mean`, () => {
      const service = new ServiceTime(spec);
      expect(sampleMean(service, 200_000, 7) / service.meanMs).toBeCloseTo(1, 1);
    });
  }

  it("exponential and lognormal are monotone in the quantile (a bigger request is never faster)", () => {
    for (const spec of specs.filter((candidate) => candidate.kind !== "bimodal")) {
      const service = new ServiceTime(spec);
      let previous = -1;
      for (let u = 0; u < 1; u += 0.001) {
        const value = service.quantile(u);
        expect(value).toBeGreaterThanOrEqual(previous);
        previous = value;
      }
    }
  });

  it("bimodal puts the declared fraction in the slow mode", () => {
    const service = new ServiceTime({ kind: "bimodal", fastMs: 1, slowMs: 100, slowFraction: 0.2 });
    const random = seededRandom(3);
    let slow = 0;
    for (let i = 0; i < 100_000; i++) if (service.quantile(random()) > 20) slow++;
    // The slow mode is exponential around 100 ms: a few of its draws fall under 20 ms.
    expect(slow / 100_000).toBeGreaterThan(0.15);
    expect(slow / 100_000).toBeLessThan(0.2);
  });

  it("rejects bad parameters", () => {
    expect(() => new ServiceTime({ kind: "exponential", meanMs: 0 })).toThrow(/meanMs/);
    expect(() => new ServiceTime({ kind: "bimodal", fastMs: 1, slowMs: 2, slowFraction: 1 })).toThrow(
      /slowFraction/,
    );
  });
});

describe("Poisson arrivals", () => {
  it("exponential gaps give a mean rate ≈ the requested rate and Poisson counts (variance ≈ mean)", () => {
    const rateRps = 2500;
    const random = seededRandom(11);
    const windowMs = 10;
    const windows = 5000;
    const counts = new Array<number>(windows).fill(0);
    let t = exponentialQuantile(random(), 1000 / rateRps);
    while (t < windows * windowMs) {
      const w = Math.floor(t / windowMs);
      counts[w] = (counts[w] as number) + 1;
      t += exponentialQuantile(random(), 1000 / rateRps);
    }
    const mean = counts.reduce((a, b) => a + b, 0) / windows;
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / windows;
    expect(mean / ((rateRps * windowMs) / 1000)).toBeCloseTo(1, 1);
    expect(variance / mean).toBeGreaterThan(0.9);
    expect(variance / mean).toBeLessThan(1.1);
  });
});

describe("KeySampler", () => {
  it("uniform keys cover the range evenly", () => {
    const sampler = new KeySampler(10);
    const random = seededRandom(5);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const key = sampler.sample(random());
      counts[key] = (counts[key] as number) + 1;
    }
    for (const count of counts) expect(count / 10_000).toBeCloseTo(1, 1);
  });

  it("Zipf keys are skewed: frequency ∝ 1/rank^s", () => {
    const s = 1.1;
    const sampler = new KeySampler(10_000, s);
    const random = seededRandom(9);
    const n = 400_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const key = sampler.sample(random());
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const top = (counts.get(0) ?? 0) / n;
    expect(top / sampler.probability(0)).toBeCloseTo(1, 1);
    // Key 0 is hottest; ranks 1 and 9 follow the power law.
    expect((counts.get(0) ?? 0) / (counts.get(1) ?? 1)).toBeCloseTo(2 ** s, 0);
    expect((counts.get(0) ?? 0) / (counts.get(9) ?? 1)).toBeGreaterThan(10 ** s * 0.85);
    expect((counts.get(0) ?? 0) / (counts.get(9) ?? 1)).toBeLessThan(10 ** s * 1.15);
    // The top 1% of keys take far more than 1% of requests (about 60% at s = 1.1).
    let head = 0;
    for (let key = 0; key < 100; key++) head += counts.get(key) ?? 0;
    expect(head / n).toBeGreaterThan(0.5);
  });
});

describe("random streams", () => {
  it("derives distinct, reproducible streams from one seed", () => {
    const a = randomStreams(42);
    const b = randomStreams(42);
    const draws = [a.arrivals(), a.keys(), a.sizes(), a.balancer()];
    expect([b.arrivals(), b.keys(), b.sizes(), b.balancer()]).toEqual(draws);
    expect(new Set(draws).size).toBe(4);
    expect(deriveSeed(1, 1)).not.toBe(deriveSeed(1, 2));
    expect(deriveSeed(1, 1)).not.toBe(deriveSeed(2, 1));
  });
});

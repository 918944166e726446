/**
 * Random workload pieces for the simulator: service-time distributions,
 * Poisson inter-arrival gaps, uniform or Zipf key choice, and independent
 * seeded streams. Service times are drawn by inverse CDF from one uniform per
 * request (its "size"), so every algorithm sees the same requests with the
 * same sizes (common random numbers: differences between algorithms are not
 * noise from different draws), and a heavy request stays heavy on any backend
 * (exponential and lognormal are monotone in the size; bimodal keeps the mode).
 */
import type { RequestContext } from "../core/context.js";
import { seededRandom } from "../core/random.js";

/** How long a backend takes to serve one request once it starts on it. */
export type ServiceTimeSpec =
  | { kind: "exponential"; meanMs: number }
  /** Lognormal with the given mean; `sigma` is the standard deviation of the log (0.5–1 is typical). */
  | { kind: "lognormal"; meanMs: number; sigma: number }
  /** A fast mode (cache hit) and a slow mode (miss), each exponential around its mean. */
  | { kind: "bimodal"; fastMs: number; slowMs: number; slowFraction: number };

/** A service-time distribution sampled by inverse CDF. */
export class ServiceTime {
  readonly spec: ServiceTimeSpec;
  readonly meanMs: number;
  #mu = 0;

  constructor(spec: ServiceTimeSpec) {
    validateServiceTime(spec);
    this.spec = spec;
    if (spec.kind === "bimodal") {
      this.meanMs = (1 - spec.slowFraction) * spec.fastMs + spec.slowFraction * spec.slowMs;
    } else {
      this.meanMs = spec.meanMs;
    }
    if (spec.kind === "lognormal") this.#mu = Math.log(spec.meanMs) - (spec.sigma * spec.sigma) / 2;
  }

  /** The service time at quantile `u` in [0, 1), in ms. */
  quantile(u: number): number {
    const spec = this.spec;
    switch (spec.kind) {
      case "exponential":
        return exponentialQuantile(u, spec.meanMs);
      case "lognormal":
        return Math.exp(this.#mu + spec.sigma * normalQuantile(u));
      case "bimodal": {
        const fast = 1 - spec.slowFraction;
        return u < fast
          ? exponentialQuantile(u / fast, spec.fastMs)
          : exponentialQuantile((u - fast) / spec.slowFraction, spec.slowMs);
      }
    }
  }
}

function validateServiceTime(spec: ServiceTimeSpec): void {
  const positive = (value: number, name: string) => {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number`);
  };
  if (spec.kind === "bimodal") {
    positive(spec.fastMs, "fastMs");
    positive(spec.slowMs, "slowMs");
    if (!(spec.slowFraction > 0 && spec.slowFraction < 1))
      throw new RangeError("slowFraction must be in (0, 1)");
  } else {
    positive(spec.meanMs, "meanMs");
    if (spec.kind === "lognormal") positive(spec.sigma, "sigma");
  }
}

/** Exponential distribution with mean `mean` at quantile `u` in [0, 1). */
export function exponentialQuantile(u: number, mean: number): number {
  return -mean * Math.log(1 - u);
}

// Rational approximations of the standard normal quantile (P. J. Acklam, 2003),
// relative error below 1.2e-9 over the whole range. Plain constants: this runs
// once per request on lognormal backends.
const A0 = -39.69683028665376;
const A1 = 220.9460984245205;
const A2 = -275.928510446969;
const A3 = 138.357751867269;
const A4 = -30.66479806614716;
const A5 = 2.506628277459239;
const B0 = -54.47609879822406;
const B1 = 161.5858368580409;
const B2 = -155.6989798598866;
const B3 = 66.80131188771972;
const B4 = -13.28068155288572;
const C0 = -0.007784894002430293;
const C1 = -0.3223964580411365;
const C2 = -2.400758277161838;
const C3 = -2.549732539343734;
const C4 = 4.374664141464968;
const C5 = 2.938163982698783;
const D0 = 0.007784695709041462;
const D1 = 0.3224671290700398;
const D2 = 2.445134137142996;
const D3 = 3.754408661907416;
const P_LOW = 0.02425;

/** The standard normal quantile Φ⁻¹(p); p is clamped away from 0 and 1. */
export function normalQuantile(p: number): number {
  const x = Math.min(Math.max(p, 1e-15), 1 - 1e-15);
  if (x < P_LOW || x > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log(x < P_LOW ? x : 1 - x));
    const value =
      (((((C0 * q + C1) * q + C2) * q + C3) * q + C4) * q + C5) /
      ((((D0 * q + D1) * q + D2) * q + D3) * q + 1);
    return x < P_LOW ? value : -value;
  }
  const q = x - 0.5;
  const r = q * q;
  return (
    ((((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q) /
    (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1)
  );
}

/**
 * Chooses key indices in [0, count): uniformly when `zipf` is 0 or absent,
 * otherwise with probability proportional to 1 / (rank + 1)^s (key 0 hottest).
 * The Zipf CDF is tabulated once; a draw is a binary search.
 */
export class KeySampler {
  readonly count: number;
  readonly zipf: number;
  #cdf: Float64Array | undefined;

  constructor(count: number, zipf = 0) {
    if (!(Number.isInteger(count) && count > 0)) throw new RangeError("key count must be a positive integer");
    if (!(Number.isFinite(zipf) && zipf >= 0)) throw new RangeError("zipf exponent must be ≥ 0");
    this.count = count;
    this.zipf = zipf;
    if (zipf > 0) {
      const cdf = new Float64Array(count);
      let total = 0;
      for (let rank = 0; rank < count; rank++) {
        total += (rank + 1) ** -zipf;
        cdf[rank] = total;
      }
      for (let rank = 0; rank < count; rank++) cdf[rank] = (cdf[rank] as number) / total;
      cdf[count - 1] = 1;
      this.#cdf = cdf;
    }
  }

  /** The probability of key `rank` (for tests and reports). */
  probability(rank: number): number {
    const cdf = this.#cdf;
    if (!cdf) return 1 / this.count;
    return (cdf[rank] as number) - (rank === 0 ? 0 : (cdf[rank - 1] as number));
  }

  /** The key at quantile `u` in [0, 1). */
  sample(u: number): number {
    const cdf = this.#cdf;
    if (!cdf) return Math.min(this.count - 1, Math.floor(u * this.count));
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cdf[mid] as number) > u) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

/**
 * What a request for key `key` looks like to a selector: the key (`k<n>`) as
 * the `x-key` header, in the path `/item/<key>`, as the `key` cookie, and as
 * a client IP 10.x.y.z made from its number, so a hash algorithm keyed on any
 * of them sees the same key.
 */
export function keyContext(key: number): RequestContext {
  const name = `k${key}`;
  return {
    method: "GET",
    path: `/item/${name}`,
    clientIp: `10.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`,
    headers: { "x-key": name },
    cookies: { key: name },
  };
}

/**
 * Independent random streams of one run; arrivals, keys and sizes are each
 * consumed once per arrival, in order.
 */
export interface RandomStreams {
  arrivals: () => number;
  keys: () => number;
  sizes: () => number;
  /** Handed to the balancer (algorithms draw from it as much as they like). */
  balancer: () => number;
  /** Fresh service-time quantiles for hedges and failovers on backends with backend variability. */
  attempts: () => number;
}

export function randomStreams(seed: number): RandomStreams {
  return {
    arrivals: seededRandom(deriveSeed(seed, 1)),
    keys: seededRandom(deriveSeed(seed, 2)),
    sizes: seededRandom(deriveSeed(seed, 3)),
    balancer: seededRandom(deriveSeed(seed, 4)),
    attempts: seededRandom(deriveSeed(seed, 5)),
  };
}

/** Mixes a seed and a stream number into an unrelated 32-bit seed (murmur3 finalizer). */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

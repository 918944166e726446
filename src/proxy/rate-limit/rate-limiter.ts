/**
 * A listener's or a route's rate limit: its options checked, the key it
 * counts by (rate-limit-key.ts), its bucket table (token-buckets.ts), and the
 * header fields that tell a client its quota, after the IETF draft "RateLimit
 * header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers-08 and later):
 * `RateLimit-Policy: "name";q=<rate>;w=<period in seconds>` and
 * `RateLimit: "name";r=<requests left now>;t=<seconds until the bucket is
 * full>`, plus `Retry-After` (seconds until one request is admitted again) on
 * a refusal. The limiter lives in one process: N instances (or N workers)
 * admit N times the rate.
 */
import { performance } from "node:perf_hooks";
import { ErrorCodes, SwitchyardError } from "../../core/errors.js";
import { compileRateLimitKey, type RateLimitKey, type RateLimitKeySpec } from "./rate-limit-key.js";
import { TokenBuckets } from "./token-buckets.js";

export interface RateLimitOptions {
  /** Requests admitted per period, sustained: a whole number of at least 1. */
  rate: number;
  /** The period `rate` is counted over, in ms: whole seconds, from 1 s to 1 h; default 1000. */
  periodMs?: number;
  /** Requests admitted at once, the bucket's size; default `rate`. */
  burst?: number;
  /** What is counted: "client-ip" (the default), "route", or `{ header }`; see rate-limit-key.ts. */
  key?: RateLimitKeySpec;
  /** Peers (IPs, CIDR blocks) whose X-Forwarded-For names the client, for the client-ip key. */
  trustedProxies?: readonly string[];
  /** Keys (buckets) kept at most; the least recently used is dropped beyond it. Default 100000. */
  maxKeys?: number;
  /** Also send RateLimit-Policy and RateLimit on admitted responses; default false (429s always have them). */
  headers?: boolean;
}

export const DEFAULT_RATE_LIMIT_PERIOD_MS = 1_000;
export const DEFAULT_RATE_LIMIT_MAX_KEYS = 100_000;
const MAX_RATE = 1_000_000_000;
const MAX_PERIOD_MS = 3_600_000;
const MAX_KEYS = 10_000_000;

export class RateLimiter {
  /** The settings it was made from, to tell whether a reload changed them. */
  readonly options: Readonly<RateLimitOptions>;
  /** Quota headers on admitted responses too. */
  readonly headers: boolean;
  readonly #buckets: TokenBuckets;
  readonly #key: RateLimitKey;
  /** The policy's name as a structured-field string. */
  readonly #name: string;
  readonly #policy: string;

  /** `name`: the policy's name in the headers (the listener's or route's). Throws SY_ERR_INVALID_OPTIONS. */
  constructor(options: RateLimitOptions, name: string, now: () => number = () => performance.now()) {
    this.options = options;
    const rate = whole("rate", options.rate, 1, MAX_RATE);
    const periodMs = options.periodMs ?? DEFAULT_RATE_LIMIT_PERIOD_MS;
    if (!Number.isInteger(periodMs / 1000) || periodMs < 1000 || periodMs > MAX_PERIOD_MS) {
      throw invalid("rateLimit.periodMs must be whole seconds from 1s to 1h", { periodMs });
    }
    const burst = whole("burst", options.burst ?? rate, 1, MAX_RATE);
    const maxKeys = whole("maxKeys", options.maxKeys ?? DEFAULT_RATE_LIMIT_MAX_KEYS, 1, MAX_KEYS);
    const key = options.key ?? "client-ip";
    if (typeof key === "object" && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key.header)) {
      throw invalid("rateLimit.key.header must be a header name", { header: key.header });
    }
    try {
      this.#key = compileRateLimitKey(key, options.trustedProxies);
    } catch (error) {
      throw invalid(`rateLimit.trustedProxies: ${(error as Error).message}`, {});
    }
    this.#buckets = new TokenBuckets({ rate, periodMs, burst, maxKeys }, now);
    this.headers = options.headers ?? false;
    this.#name = `"${name.replace(/["\\]/g, "\\$&")}"`;
    this.#policy = `${this.#name};q=${rate};w=${periodMs / 1000}`;
  }

  /** Takes a token for this request; false when its bucket is empty (answer 429 with `refusalHeaders`). */
  admit(clientIp: string | undefined, headers: Parameters<RateLimitKey>[1], route: string): boolean {
    return this.#buckets.take(this.#key(clientIp, headers, route));
  }

  /** The quota fields as of the last `admit`: a flat `[name, value, ...]` list. */
  quotaHeaders(): string[] {
    const buckets = this.#buckets;
    const resetSeconds = Math.ceil(buckets.fullInMs / 1000);
    return [
      "ratelimit-policy",
      this.#policy,
      "ratelimit",
      `${this.#name};r=${buckets.remaining};t=${resetSeconds}`,
    ];
  }

  /** The fields of a 429 after a refused `admit`: Retry-After and the quota. */
  refusalHeaders(): string[] {
    const retryAfter = Math.max(1, Math.ceil(this.#buckets.nextTokenMs / 1000));
    return ["retry-after", String(retryAfter), ...this.quotaHeaders()];
  }
}

function whole(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`rateLimit.${field} must be a whole number from ${min} to ${max}`, { [field]: value });
  }
  return value;
}

function invalid(message: string, details: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_OPTIONS, message, details);
}

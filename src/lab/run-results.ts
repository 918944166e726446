/**
 * What a simulation run reports, and the arithmetic behind it: exact latency
 * percentiles (quickselect over a Float64Array), load spread window by window
 * over the backends alive, a per-interval latency timeline for charts, and key remapping.
 */

export interface LatencySummary {
  /** Client-visible latency of successful requests (arrival to final response, queueing and retries included), ms. */
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
}

export interface BackendResult {
  id: string;
  /** Attempts sent to the backend (first tries and failovers). */
  routed: number;
  /** Requests it answered successfully. */
  served: number;
  /** Attempts that failed on it (connect refused, reset). */
  failedAttempts: number;
  /** Share of all successfully served requests. */
  share: number;
  /** Time it was in the pool and not in a failure episode, within the arrival window, ms. */
  aliveMs: number;
  /** Served requests per second of alive time. */
  servedPerSecond: number;
}

/** Something that happened during the run, for reports and tests. */
export interface LabEvent {
  atMs: number;
  backend: string;
  kind:
    | "joined"
    | "slowdown-start"
    | "slowdown-end"
    | "failure-start"
    | "failure-end"
    | "marked-down"
    | "marked-up";
}

export interface LatencyTimeline {
  bucketMs: number;
  /** Per bucket of arrival time: requests that arrived, p50 and p99 of the successful ones (0 when none), client errors. */
  arrivals: number[];
  p50: number[];
  p99: number[];
  errors: number[];
}

export interface SimulationResult {
  scenario: string;
  /** Algorithm label: its canonical name, with options when given. */
  algorithm: string;
  seed: number;
  requests: number;
  arrivalRateRps: number;
  /** Expected length of the arrival window (requests / rate), ms; episode times are fractions of it. */
  durationMs: number;
  latency: LatencySummary;
  /**
   * Spread of attempts routed per backend, compared window by window (10
   * windows) among the backends alive for the whole window, weighted by
   * traffic (see `windowedLoadSpread`). 1 and 0 mean perfectly even.
   */
  load: {
    /** max / mean of attempts per backend. */
    maxMeanRatio: number;
    /** Coefficient of variation (stddev / mean) of the same. */
    cv: number;
  };
  /** Client-visible failures: every candidate failed, retries ran out, or no backend was ready. */
  errors: number;
  errorRate: number;
  /** Of the errors, requests refused because no backend was ready. */
  noBackend: number;
  /** Failover attempts (decision.next() that found a backend). */
  retries: number;
  /** Hedged requests (a second attempt opened beside a slow first one), percent of requests. */
  hedgedPct: number;
  /**
   * Fraction of keys seen in both remap windows whose serving backend differs:
   * a key's backend is the one that served its latest-arriving successful request in the
   * window [0, before), compared with the same in [after, end]. 0 means
   * perfect key affinity across the change; ≈ 1 − 1/N for key-blind algorithms.
   */
  keysRemapped: number;
  backends: BackendResult[];
  events: LabEvent[];
  timeline: LatencyTimeline;
  /**
   * Picks the algorithm made without an input the simulation does not model
   * (agent reports, client locations) and what it did instead; absent when none.
   */
  fallback?: { picks: number; reason: string };
  /** Attempt dispatch times per backend (ms), only when `recordRouting` was asked. */
  routing?: Record<string, number[]>;
  /** Wall-clock time of the run, ms: the only field that differs between identical runs. */
  wallMs: number;
}

/** Nearest-rank index of quantile `q` among `n` values. */
function rankIndex(n: number, q: number): number {
  return Math.min(n, Math.max(1, Math.ceil(q * n))) - 1;
}

/**
 * Exact quantiles (nearest rank) of `values`, which are reordered in place:
 * a quickselect per quantile, each on the part right of the previous one, so
 * the whole costs about one linear pass per quantile instead of a sort.
 * `qs` must be ascending; the answer is 0 for each when `values` is empty.
 */
export function quantilesInPlace(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  const out: number[] = [];
  let lo = 0;
  for (const q of qs) {
    if (n === 0) {
      out.push(0);
      continue;
    }
    const k = rankIndex(n, q);
    if (k >= lo) {
      selectInPlace(values, lo, n - 1, k);
      lo = k;
    }
    out.push(values[k] as number);
  }
  return out;
}

/** Hoare quickselect (median-of-three pivot): afterwards a[k] is the k-th smallest of a[lo..hi]. */
function selectInPlace(a: Float64Array, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const x = a[lo] as number;
    const y = a[(lo + hi) >>> 1] as number;
    const z = a[hi] as number;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const swap = a[i] as number;
        a[i] = a[j] as number;
        a[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

export function summarizeLatency(latencies: Float64Array): LatencySummary {
  let total = 0;
  let max = 0;
  for (let i = 0; i < latencies.length; i++) {
    const value = latencies[i] as number;
    total += value;
    if (value > max) max = value;
  }
  const [p50, p95, p99, p999] = quantilesInPlace(latencies.slice(), [0.5, 0.95, 0.99, 0.999]) as [
    number,
    number,
    number,
    number,
  ];
  return {
    p50: round3(p50),
    p95: round3(p95),
    p99: round3(p99),
    p999: round3(p999),
    mean: round3(latencies.length === 0 ? 0 : total / latencies.length),
    max: round3(max),
  };
}

/** max/mean and coefficient of variation of per-backend values (population stddev), unrounded. */
export function loadSpread(values: readonly number[]): { maxMeanRatio: number; cv: number } {
  if (values.length === 0) return { maxMeanRatio: 0, cv: 0 };
  let total = 0;
  let max = 0;
  for (const value of values) {
    total += value;
    if (value > max) max = value;
  }
  const mean = total / values.length;
  if (mean === 0) return { maxMeanRatio: 0, cv: 0 };
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { maxMeanRatio: max / mean, cv: Math.sqrt(squares / values.length) / mean };
}

/** Tolerance when comparing window edges with alive-interval edges (both derived from fractions of the run). */
const EDGE_EPSILON_MS = 1e-6;

/**
 * Load spread measured over time: the run is cut into windows, and in each
 * window the attempts routed to each backend alive for the whole window are
 * compared (max/mean and CV); the answer is the mean over windows weighted by
 * their attempts. Comparing backends only while all of them are up keeps a
 * backend that joined late or was down for a while from counting as imbalance.
 *
 * @param routed per backend, attempts routed in each window
 * @param aliveIntervals per backend, flattened [start, end) pairs in ms
 */
export function windowedLoadSpread(
  routed: readonly Float64Array[],
  aliveIntervals: readonly (readonly number[])[],
  durationMs: number,
): { maxMeanRatio: number; cv: number } {
  const windows = routed[0]?.length ?? 0;
  const windowMs = durationMs / windows;
  let weight = 0;
  let ratioSum = 0;
  let cvSum = 0;
  for (let w = 0; w < windows; w++) {
    const from = w * windowMs + EDGE_EPSILON_MS;
    const to = (w + 1) * windowMs - EDGE_EPSILON_MS;
    const values: number[] = [];
    routed.forEach((counts, i) => {
      if (coversWhole(aliveIntervals[i] ?? [], from, to)) values.push(counts[w] as number);
    });
    let total = 0;
    for (const value of values) total += value;
    if (total === 0) continue;
    const spread = loadSpread(values);
    weight += total;
    ratioSum += spread.maxMeanRatio * total;
    cvSum += spread.cv * total;
  }
  if (weight === 0) return { maxMeanRatio: 0, cv: 0 };
  return { maxMeanRatio: round3(ratioSum / weight), cv: round3(cvSum / weight) };
}

function coversWhole(intervals: readonly number[], from: number, to: number): boolean {
  for (let i = 0; i + 1 < intervals.length; i += 2) {
    if ((intervals[i] as number) <= from && (intervals[i + 1] as number) >= to) return true;
  }
  return false;
}

/**
 * Buckets requests by arrival time and reports p50/p99 per bucket. The last
 * bucket also takes arrivals past the expected end of the arrival window.
 */
export function latencyTimeline(
  latencies: Float64Array,
  arrivals: Float64Array,
  errorArrivals: Float64Array,
  durationMs: number,
  buckets: number,
): LatencyTimeline {
  const bucketMs = durationMs / buckets;
  const bucketOf = (t: number) => Math.min(buckets - 1, Math.max(0, Math.floor(t / bucketMs)));
  const counts = new Int32Array(buckets + 1);
  for (let i = 0; i < arrivals.length; i++) {
    const b = bucketOf(arrivals[i] as number) + 1;
    counts[b] = (counts[b] as number) + 1;
  }
  for (let b = 1; b <= buckets; b++) counts[b] = (counts[b] as number) + (counts[b - 1] as number);
  const grouped = new Float64Array(latencies.length);
  const fill = counts.slice(0, buckets);
  for (let i = 0; i < arrivals.length; i++) {
    const b = bucketOf(arrivals[i] as number);
    grouped[fill[b] as number] = latencies[i] as number;
    fill[b] = (fill[b] as number) + 1;
  }
  const p50: number[] = [];
  const p99: number[] = [];
  const errors = new Array<number>(buckets).fill(0);
  for (let b = 0; b < buckets; b++) {
    const [median, tail] = quantilesInPlace(
      grouped.subarray(counts[b] as number, counts[b + 1] as number),
      [0.5, 0.99],
    ) as [number, number];
    p50.push(round3(median));
    p99.push(round3(tail));
  }
  for (let i = 0; i < errorArrivals.length; i++) {
    const b = bucketOf(errorArrivals[i] as number);
    errors[b] = (errors[b] as number) + 1;
  }
  const arrived = errors.map((count, b) => count + (counts[b + 1] as number) - (counts[b] as number));
  return { bucketMs: round3(bucketMs), arrivals: arrived, p50, p99, errors };
}

/** Fraction of keys served in both windows whose backend differs (-1 marks "not seen"). */
export function remappedFraction(before: Int32Array, after: Int32Array): number {
  let both = 0;
  let moved = 0;
  for (let key = 0; key < before.length; key++) {
    const a = before[key] as number;
    const b = after[key] as number;
    if (a < 0 || b < 0) continue;
    both++;
    if (a !== b) moved++;
  }
  return both === 0 ? 0 : round3(moved / both);
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * A log-linear histogram of non-negative integers (the layout of HdrHistogram,
 * kept to what the metrics need): values below 32 have a bucket each, above
 * that every power of two is split into 32 equal buckets, so a value is placed
 * within 1/32 of itself and a quantile read from a bucket's midpoint is within
 * ±1.6%. Values go up to 2^32 − 1 (4.3 s in ns, 71 min in µs); larger ones
 * land in the last bucket. Recording is a `clz32`, two shifts and three
 * stores into preallocated arrays: no allocation, no call into C++ (node's
 * `perf_hooks` histogram costs ~60 ns a record through its binding, this one ~7).
 * Quantiles read several histograms together, so "the last 10–20 s" is two
 * windows read as one (`WindowedHistogram`). Bucket counts are 32-bit: a
 * histogram is meant for a bounded window, not for a process's lifetime
 * (3.5 KiB each).
 */

const SUB_BITS = 5;
const SUB_BUCKETS = 1 << SUB_BITS;
/** Largest value placed exactly; anything above goes to the last bucket. */
export const MAX_RECORDED = 2 ** 32 - 1;
/** (shift + 1) × 32 + 31 for the largest shift (31 − 5 = 26), plus one. */
const BUCKETS = (32 - SUB_BITS + 1) * SUB_BUCKETS;

/** The bucket a value falls in: truncated to an integer, clamped to [0, 2^32 − 1]. */
export function bucketIndex(value: number): number {
  const v = value >= MAX_RECORDED ? MAX_RECORDED : value > 0 ? value >>> 0 : 0;
  if (v < SUB_BUCKETS) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS;
  return ((shift + 1) << SUB_BITS) + (v >>> shift) - SUB_BUCKETS;
}

/** The value a bucket stands for: the midpoint of the integers it holds. */
export function bucketValue(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const shift = (index >> SUB_BITS) - 1;
  const width = 2 ** shift;
  const low = ((index & (SUB_BUCKETS - 1)) + SUB_BUCKETS) * width;
  return low + (width - 1) / 2;
}

export class LogHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(value: number): void {
    this.add(bucketIndex(value), value);
  }

  /** Records `value` already placed in bucket `index` (one index for several histograms). */
  add(index: number, value: number): void {
    this.counts[index] = (this.counts[index] as number) + 1;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  reset(): void {
    if (this.count === 0) return;
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** The value at quantile `q` (0..1); NaN when empty. */
  quantile(q: number): number {
    return quantileOf([this], q);
  }
}

/**
 * The value at quantile `q` (0..1) of several histograms read as one: the
 * bucket holding the ⌈q·n⌉-th smallest value, at its midpoint, never above
 * the largest value recorded. NaN when they are all empty.
 */
export function quantileOf(histograms: readonly LogHistogram[], q: number): number {
  let total = 0;
  let max = 0;
  for (const histogram of histograms) {
    total += histogram.count;
    if (histogram.max > max) max = histogram.max;
  }
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * total));
  let seen = 0;
  for (let index = 0; index < BUCKETS; index++) {
    for (const histogram of histograms) seen += histogram.counts[index] as number;
    if (seen >= rank) return Math.min(bucketValue(index), max);
  }
  return max;
}

export interface HistogramSummary {
  count: number;
  sum: number;
  /** 0 when empty, like every field. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** count, mean, p50/p95/p99 and max of several histograms read as one, each value × `scale`. */
export function summarize(histograms: readonly LogHistogram[], scale = 1): HistogramSummary {
  let count = 0;
  let sum = 0;
  let max = 0;
  for (const histogram of histograms) {
    count += histogram.count;
    sum += histogram.sum;
    if (histogram.max > max) max = histogram.max;
  }
  if (count === 0) return { count: 0, sum: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  return {
    count,
    sum: fixed(sum * scale),
    mean: round((sum / count) * scale),
    p50: round(quantileOf(histograms, 0.5) * scale),
    p95: round(quantileOf(histograms, 0.95) * scale),
    p99: round(quantileOf(histograms, 0.99) * scale),
    max: round(max * scale),
  };
}

/** Six decimals: exact enough for a running total, without float noise. */
function fixed(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Six significant figures: enough for any chart, short in JSON. */
function round(value: number): number {
  return Number(value.toPrecision(6));
}

/**
 * Lifetime `count`, `sum`, `mean` and `max`; `p50`/`p95`/`p99` over the last
 * 10–20 s, which held `recentCount` values.
 */
export interface WindowSummary extends HistogramSummary {
  recentCount: number;
}

/**
 * Recent quantiles and lifetime totals: values go to the histogram of the
 * current window (`rotate(epoch)` moves on; the window before it is kept),
 * and to a lifetime count, sum and max. `recent(epoch)` is the current and
 * previous windows. The caller numbers the windows: 10 s epochs for the
 * metrics, so quantiles cover the last 10–20 s as a Prometheus summary with a
 * max age would; sample counts for load/latency-histogram.ts.
 */
export class WindowedHistogram {
  count = 0;
  sum = 0;
  max = 0;
  #current = new LogHistogram();
  #previous = new LogHistogram();
  #epoch: number;

  constructor(epoch = 0) {
    this.#epoch = epoch;
  }

  record(value: number): void {
    this.add(bucketIndex(value), value);
  }

  add(index: number, value: number): void {
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
    this.#current.add(index, value);
  }

  /** Moves to window `epoch`; the one just closed becomes the previous window. */
  rotate(epoch: number): void {
    if (epoch <= this.#epoch) return;
    const closed = this.#current;
    this.#current = this.#previous;
    this.#current.reset();
    this.#previous = closed;
    if (epoch > this.#epoch + 1) closed.reset();
    this.#epoch = epoch;
  }

  /** The windows that still cover the last 10–20 s at `epoch` (none after a long quiet spell). */
  recent(epoch: number): LogHistogram[] {
    if (epoch <= this.#epoch) return [this.#current, this.#previous];
    return epoch === this.#epoch + 1 ? [this.#current] : [];
  }

  /** Lifetime count, sum, mean and max with the recent p50/p95/p99, each value × `scale`. */
  summary(epoch: number, scale = 1): WindowSummary {
    const window = summarize(this.recent(epoch), scale);
    return {
      count: this.count,
      sum: fixed(this.sum * scale),
      mean: this.count === 0 ? 0 : round((this.sum / this.count) * scale),
      p50: window.p50,
      p95: window.p95,
      p99: window.p99,
      max: round(this.max * scale),
      recentCount: window.count,
    };
  }
}

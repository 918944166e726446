/**
 * The latency families, from each pool's recorded figures: response latency
 * per backend and per pool as histograms (fixed buckets since start: rate()
 * them, add them across workers and instances, `histogram_quantile()` any
 * quantile) and as summaries (p50/p95/p99 over the last 10–20 s, for a quick
 * look without PromQL), and the time to choose a backend as a summary (its
 * nanoseconds would fall below every latency bucket).
 */

import type { HistogramSummary, WindowSummary } from "../core/log-histogram.js";
import type { PoolMetrics } from "../observability/balancer-metrics.js";
import type { MetricFamilies } from "./metric-families.js";
import type { HistogramFigures } from "./snapshot-histogram.js";

/** One pool's recorded figures, taken at the scrape (undefined for a balancer that records none). */
export interface LatencyScrape {
  pool: string;
  metrics: PoolMetrics | undefined;
}

export function defineLatencyMetrics(families: MetricFamilies, scrape: () => readonly LatencyScrape[]): void {
  families.histogram(
    "response_duration_seconds",
    "Upstream response time by backend, an attempt's start to its response's end (attempts that failed without a response not counted).",
    ["pool", "backend"],
    (emit) => {
      for (const { pool, metrics } of scrape()) {
        for (const backend of metrics?.backends ?? [])
          emit({ pool, backend: backend.id }, histogram(backend.latencyBuckets, backend.latencyMs));
      }
    },
  );
  families.histogram(
    "pool_response_duration_seconds",
    "Upstream response time over the whole pool (backends since removed included).",
    ["pool"],
    (emit) => {
      for (const { pool, metrics } of scrape())
        if (metrics) emit({ pool }, histogram(metrics.latencyBuckets, metrics.latencyMs));
    },
  );
  families.summary(
    "response_latency_seconds",
    "Upstream response latency by backend; quantiles over the last 10-20 s.",
    ["pool", "backend"],
    (emit) => {
      for (const { pool, metrics } of scrape()) {
        for (const backend of metrics?.backends ?? [])
          emit({ pool, backend: backend.id }, seconds(backend.latencyMs, 1e-3));
      }
    },
  );
  families.summary(
    "pool_response_latency_seconds",
    "Upstream response latency over the whole pool; quantiles over the last 10-20 s.",
    ["pool"],
    (emit) => {
      for (const { pool, metrics } of scrape()) if (metrics) emit({ pool }, seconds(metrics.latencyMs, 1e-3));
    },
  );
  families.summary(
    "decision_latency_seconds",
    "Time to choose a backend; quantiles over the last 10-20 s.",
    ["pool"],
    (emit) => {
      for (const { pool, metrics } of scrape())
        if (metrics) emit({ pool }, seconds(metrics.decisionNs, 1e-9));
    },
  );
}

/** The buckets with the sum of the same latencies (recorded in ms), in seconds. */
function histogram(buckets: readonly number[], latencyMs: WindowSummary): HistogramFigures {
  return { buckets, sum: significant(latencyMs.sum / 1000, 12) };
}

/**
 * A summary in seconds: quantiles from the recent windows (NaN when they are
 * empty, which SnapshotSummary leaves out of the text), sum and count over
 * the lifetime.
 */
function seconds(summary: WindowSummary, scale: number): HistogramSummary {
  const recent = summary.recentCount > 0;
  const quantile = (value: number) => (recent ? significant(value * scale, 6) : Number.NaN);
  return {
    count: summary.count,
    sum: significant(summary.sum * scale, 12),
    mean: significant(summary.mean * scale, 6),
    p50: quantile(summary.p50),
    p95: quantile(summary.p95),
    p99: quantile(summary.p99),
    max: significant(summary.max * scale, 6),
  };
}

/** Drops the float noise a unit change leaves (0.023807500000000002 → 0.0238075). */
function significant(value: number, digits: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(digits));
}

/**
 * The discovery metric families, for pools whose backends come from a
 * discovery source (DNS, a file): refreshes by result, the backends the
 * source has in the pool, and when it last answered. Alert on a source that
 * stopped answering with `time() - switchyard_discovery_last_success_timestamp_seconds`
 * (0 before the first success, so a source that never answered shows too) or
 * on `increase(switchyard_discovery_refreshes_total{result="error"}[5m])`.
 * Workers of a cluster each run the source: refreshes add up, the backends
 * are every worker's view (averaged), the last success is the latest.
 */
import type { DiscoveryStats } from "../discovery/refresh-status.js";
import type { Emit, MetricFamilies } from "./metric-families.js";

export function defineDiscoveryMetrics(
  families: MetricFamilies,
  scrape: () => readonly (readonly [pool: string, stats: DiscoveryStats])[],
): void {
  const sources =
    (read: (labels: { pool: string; source: string }, stats: DiscoveryStats, emit: Emit) => void) =>
    (emit: Emit) => {
      for (const [pool, stats] of scrape()) read({ pool, source: stats.source }, stats, emit);
    };
  families.counter(
    "discovery_refreshes_total",
    "Discovery refreshes (DNS lookups, file reads) by result: ok, or error (the backends stay as they were).",
    ["pool", "source", "result"],
    sources((labels, stats, emit) => {
      emit({ ...labels, result: "ok" }, stats.refreshes);
      emit({ ...labels, result: "error" }, stats.failures);
    }),
  );
  families.gauge(
    "discovery_backends",
    "Backends the pool's discovery source has in the pool.",
    ["pool", "source"],
    sources((labels, stats, emit) => emit(labels, stats.backends)),
    "average",
  );
  families.gauge(
    "discovery_last_success_timestamp_seconds",
    "When the pool's discovery source last answered (Unix seconds); 0 before its first answer.",
    ["pool", "source"],
    sources((labels, stats, emit) => emit(labels, (stats.lastSuccessAt ?? 0) / 1000)),
    "max",
  );
}

/**
 * One Prometheus exposition from every worker's metrics (prom-client's JSON
 * form, `GET /metrics?format=json` on each worker): counters and histogram
 * buckets add up; a gauge combines as its `aggregator` says (in-flight counts
 * add up, a breaker state takes the worst, readiness the share of workers);
 * a summary adds its `_sum` and `_count` and takes the highest quantile, since
 * quantiles of separate samples cannot be combined exactly and the highest is
 * the one an alert should see.
 */
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from "prom-client";
import { type Combine, combineNumbers } from "./combine.js";

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
type Value = MetricValue<string> & { metricName?: string };

/** Merges the workers' metrics into one registry whose `metrics()` is the exposition text. */
export function mergeWorkerMetrics(workers: readonly MetricsJson[]): Registry {
  const byName = new Map<string, MetricObjectWithValues<MetricValue<string>>[]>();
  for (const metrics of workers) {
    for (const metric of metrics) {
      const list = byName.get(metric.name) ?? [];
      list.push(metric);
      byName.set(metric.name, list);
    }
  }
  const merged: MetricsJson = [];
  for (const [, copies] of byName) {
    const first = copies[0];
    if (!first || first.aggregator === "omit") continue;
    merged.push({ ...first, aggregator: "sum", values: mergeValues(first, copies) });
  }
  // A single, already merged input: prom-client only renders it.
  return AggregatorRegistry.aggregate([merged]);
}

function mergeValues(
  metric: MetricObjectWithValues<MetricValue<string>>,
  copies: readonly MetricObjectWithValues<MetricValue<string>>[],
): Value[] {
  const series = new Map<string, { value: Value; numbers: number[] }>();
  for (const copy of copies) {
    for (const value of copy.values as Value[]) {
      const key = `${value.metricName ?? ""}|${JSON.stringify(value.labels)}`;
      const entry = series.get(key);
      if (entry) entry.numbers.push(value.value);
      else series.set(key, { value, numbers: [value.value] });
    }
  }
  return [...series.values()].map(({ value, numbers }) => ({
    ...value,
    value: combineNumbers(numbers, combinerFor(metric, value)),
  }));
}

function combinerFor(metric: MetricObjectWithValues<MetricValue<string>>, value: Value): Combine {
  switch (String(metric.type)) {
    case "counter":
    case "histogram":
      return "sum";
    case "summary":
      return value.metricName === undefined ? "max" : "sum";
    default:
      return metric.aggregator === "omit" ? "sum" : metric.aggregator;
  }
}

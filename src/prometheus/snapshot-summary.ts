/**
 * A prom-client summary fed from our own histograms instead of `observe()`,
 * for the exporter (exporter.ts).
 */
import { type MetricValueWithName, Summary } from "prom-client";
import type { HistogramSummary } from "../core/log-histogram.js";

export type EmitSummary = (labels: Record<string, string>, summary: HistogramSummary) => void;

const QUANTILES = [
  ["0.5", "p50"],
  ["0.95", "p95"],
  ["0.99", "p99"],
] as const;

/**
 * A summary whose figures come from our histograms rather than from
 * `observe()`: `get()` emits the quantile, `_sum` and `_count` lines from
 * what `read` reports. A NaN quantile (no recent samples) gets no line: an
 * absent series reads as "no data", where NaN breaks dashboards' and alerts'
 * arithmetic. The values are read before the first await, so every collect
 * of one scrape runs in the same synchronous pass.
 */
export class SnapshotSummary extends Summary<string> {
  #name: string;
  #read: (emit: EmitSummary) => void;

  constructor(config: ConstructorParameters<typeof Summary<string>>[0], read: (emit: EmitSummary) => void) {
    super({ ...config, percentiles: QUANTILES.map(([quantile]) => Number(quantile)) });
    this.#name = config.name;
    this.#read = read;
  }

  override async get(): ReturnType<Summary<string>["get"]> {
    const values: MetricValueWithName<string>[] = [];
    this.#read((labels, summary) => {
      for (const [quantile, field] of QUANTILES) {
        if (Number.isNaN(summary[field])) continue;
        values.push({
          labels: { ...labels, quantile },
          value: summary[field],
        });
      }
      values.push({ metricName: `${this.#name}_sum`, labels, value: summary.sum });
      values.push({ metricName: `${this.#name}_count`, labels, value: summary.count });
    });
    const base = await super.get();
    return { ...base, values };
  }
}

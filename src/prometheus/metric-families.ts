/**
 * What the Prometheus exporter's metric definitions share: an `Emit` that
 * sets one labelled value, and the ways to declare a family whose values are
 * read at scrape time (exporter.ts implements them).
 */
import type { Aggregator } from "prom-client";
import type { EmitHistogram } from "./snapshot-histogram.js";
import type { EmitSummary } from "./snapshot-summary.js";

export type Labels = Record<string, string>;
export type Emit = (labels: Labels, value: number) => void;

export interface MetricFamilies {
  counter(name: string, help: string, labelNames: string[], read: (emit: Emit) => void): void;
  /** `aggregator`: how a cluster primary combines the workers' values (default sum). */
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    read: (emit: Emit) => void,
    aggregator?: Aggregator,
  ): void;
  /** Quantiles over the last 10–20 s, `_sum` and `_count` over the process's life. */
  summary(name: string, help: string, labelNames: string[], read: (emit: EmitSummary) => void): void;
  /** Fixed latency buckets (observability/latency-buckets.ts) over the process's life. */
  histogram(name: string, help: string, labelNames: string[], read: (emit: EmitHistogram) => void): void;
}

/**
 * What the Prometheus exporter's metric definitions share: an `Emit` that
 * sets one labelled value, and the two ways to declare a family whose
 * values are read at scrape time (exporter.ts implements them).
 */
import type { Aggregator } from "prom-client";

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
}

/**
 * A prom-client histogram whose figures come from our fixed latency buckets
 * (observability/latency-buckets.ts) rather than from `observe()`: each scrape
 * emits the `_bucket` lines (cumulative, `le` in seconds, then `+Inf`),
 * `_sum` and `_count` that `read` reports. A cluster primary adds the
 * workers' lines up series by series (cluster/metrics-merge.ts), which is
 * exact for histograms.
 */
import { Histogram, type MetricObjectWithValues, type MetricValueWithName } from "prom-client";
import { LATENCY_BOUNDS_SECONDS } from "../observability/latency-buckets.js";

type HistogramData = MetricObjectWithValues<MetricValueWithName<string>>;

declare module "prom-client" {
  interface Histogram<T extends string = string> {
    /** What a registry renders the text from (prom-client has it; its typings leave it out). */
    getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>>;
  }
}

export interface HistogramFigures {
  /** Cumulative counts: one per bound of LATENCY_BOUNDS_SECONDS, then the total. */
  buckets: readonly number[];
  /** Sum of the values, in seconds. */
  sum: number;
}

export type EmitHistogram = (labels: Record<string, string>, figures: HistogramFigures) => void;

export class SnapshotHistogram extends Histogram<string> {
  #name: string;
  #read: (emit: EmitHistogram) => void;

  constructor(
    config: Omit<ConstructorParameters<typeof Histogram<string>>[0], "buckets">,
    read: (emit: EmitHistogram) => void,
  ) {
    super({ ...config, buckets: [...LATENCY_BOUNDS_SECONDS] });
    this.#name = config.name;
    this.#read = read;
  }

  /** Name, help and type from prom-client (its own values stay empty: nothing calls `observe()`), ours as values. */
  override async getForPromString(): Promise<HistogramData> {
    const values: MetricValueWithName<string>[] = [];
    this.#read((labels, { buckets, sum }) => {
      buckets.forEach((count, index) => {
        const le = LATENCY_BOUNDS_SECONDS[index] ?? "+Inf";
        values.push({ metricName: `${this.#name}_bucket`, labels: { ...labels, le }, value: count });
      });
      values.push({ metricName: `${this.#name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.#name}_count`, labels, value: buckets.at(-1) ?? 0 });
    });
    return { ...(await super.getForPromString()), values };
  }

  /** The JSON form (a cluster worker's) is the same: our labels need no splaying. */
  override get(): Promise<HistogramData> {
    return this.getForPromString();
  }
}

/**
 * The charts' memory: per pool, the last five minutes of request rates and
 * latency percentiles, one point per sample, as the column arrays uPlot
 * draws (time in seconds first). A latency with no response in its window
 * is a gap (null), not a misleading zero. Pools that leave the samples are
 * dropped. The admin server keeps one, sampled every second whether or not
 * a page is open (`GET /api/history`); the dashboard starts from it and
 * appends each live snapshot. Pure code, shared by both.
 */
import type { PoolStats } from "./read-routes.js";

/** How far back the charts go. */
export const HISTORY_SECONDS = 300;

export interface PoolSeries {
  /** Sample times, seconds since the epoch. */
  time: number[];
  /** Requests per second over the last complete second and the last 10 s. */
  rps1s: (number | null)[];
  rps10s: (number | null)[];
  /** Response latency percentiles over the recent window, ms. */
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
}

/** The figures a point is read from: a pool's stats, as `/api/stats` and the live snapshot carry them. */
export type ChartFigures = Pick<PoolStats, "requestsPerSecond" | "latencyMs">;

export class ChartHistory {
  readonly #pools = new Map<string, PoolSeries>();

  /** Appends a sample taken at `timeMs` and forgets points older than HISTORY_SECONDS. */
  add(timeMs: number, pools: Readonly<Record<string, ChartFigures>>): void {
    const time = timeMs / 1000;
    for (const name of this.#pools.keys()) if (!(name in pools)) this.#pools.delete(name);
    for (const [name, pool] of Object.entries(pools)) {
      let series = this.#pools.get(name);
      if (!series) {
        series = emptySeries();
        this.#pools.set(name, series);
      }
      const last = series.time.at(-1);
      if (last !== undefined && time <= last) continue;
      const latency = pool.latencyMs;
      const measured = latency !== undefined && latency.recentCount > 0;
      series.time.push(time);
      series.rps1s.push(pool.requestsPerSecond?.["1s"] ?? null);
      series.rps10s.push(pool.requestsPerSecond?.["10s"] ?? null);
      series.p50.push(measured ? latency.p50 : null);
      series.p95.push(measured ? latency.p95 : null);
      series.p99.push(measured ? latency.p99 : null);
      forgetBefore(series, time - HISTORY_SECONDS);
    }
  }

  /**
   * Adds points kept elsewhere (the server's) that are older than any held
   * here, for the pools held here or, before the first sample, for all.
   */
  prepend(pools: Readonly<Record<string, PoolSeries>>): void {
    const fresh = this.#pools.size === 0;
    for (const [name, earlier] of Object.entries(pools)) {
      let series = this.#pools.get(name);
      if (!series) {
        if (!fresh) continue;
        series = emptySeries();
        this.#pools.set(name, series);
      }
      const first = series.time[0] ?? Number.POSITIVE_INFINITY;
      let count = 0;
      while (count < earlier.time.length && (earlier.time[count] as number) < first) count++;
      for (const key of COLUMNS) column(series, key).unshift(...column(earlier, key).slice(0, count));
      forgetBefore(series, (series.time.at(-1) as number) - HISTORY_SECONDS);
    }
  }

  /** The pool's series, or empty columns for a pool not seen yet. */
  series(pool: string): PoolSeries {
    return this.#pools.get(pool) ?? emptySeries();
  }

  /** Every pool's series, as `GET /api/history` sends them. */
  toJSON(): Record<string, PoolSeries> {
    return Object.fromEntries(this.#pools);
  }
}

const COLUMNS = ["time", "rps1s", "rps10s", "p50", "p95", "p99"] as const;

function emptySeries(): PoolSeries {
  return { time: [], rps1s: [], rps10s: [], p50: [], p95: [], p99: [] };
}

/** One column, read as the widest type every column fits. */
function column(series: PoolSeries, key: (typeof COLUMNS)[number]): (number | null)[] {
  return series[key];
}

function forgetBefore(series: PoolSeries, oldest: number): void {
  let old = 0;
  while (old < series.time.length && (series.time[old] as number) < oldest) old++;
  if (old > 0) for (const key of COLUMNS) series[key].splice(0, old);
}

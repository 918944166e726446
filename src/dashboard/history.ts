/**
 * The charts' memory: per pool, the last five minutes of request rates and
 * latency percentiles, one point per live snapshot, as the column arrays
 * uPlot draws (time in seconds first). A latency with no response in its
 * window is a gap (null), not a misleading zero. Pools that disappear from
 * the snapshot are dropped.
 */
import type { LiveSnapshot } from "../admin/live-snapshot.js";

/** How far back the charts go. */
export const HISTORY_SECONDS = 300;

export interface PoolSeries {
  /** Snapshot times, seconds since the epoch. */
  time: number[];
  /** Requests per second over the last complete second and the last 10 s. */
  rps1s: (number | null)[];
  rps10s: (number | null)[];
  /** Response latency percentiles over the recent window, ms. */
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
}

export class LiveHistory {
  readonly #pools = new Map<string, PoolSeries>();

  /** Appends the snapshot's figures and forgets points older than HISTORY_SECONDS. */
  add(snapshot: LiveSnapshot): void {
    const time = snapshot.time / 1000;
    for (const name of this.#pools.keys()) if (!(name in snapshot.pools)) this.#pools.delete(name);
    for (const [name, pool] of Object.entries(snapshot.pools)) {
      let series = this.#pools.get(name);
      if (!series) {
        series = { time: [], rps1s: [], rps10s: [], p50: [], p95: [], p99: [] };
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
      let old = 0;
      while (old < series.time.length && (series.time[old] as number) < time - HISTORY_SECONDS) old++;
      if (old > 0) for (const column of Object.values(series)) column.splice(0, old);
    }
  }

  /** The pool's series, or empty columns for a pool not seen yet. */
  series(pool: string): PoolSeries {
    return this.#pools.get(pool) ?? { time: [], rps1s: [], rps10s: [], p50: [], p95: [], p99: [] };
  }
}

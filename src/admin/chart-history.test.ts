import { describe, expect, it } from "vitest";
import { ChartHistory, HISTORY_SECONDS } from "./chart-history.js";
import type { LivePool, LiveSnapshot } from "./live-snapshot.js";

/** A snapshot at `second` whose pools carry only what the history reads. */
function snapshot(second: number, pools: Record<string, { rps: number; p50?: number }>): LiveSnapshot {
  const entries = Object.entries(pools).map(([name, { rps, p50 }]) => {
    const pool = {
      requestsPerSecond: { "1s": rps, "10s": rps / 2, "60s": rps / 4 },
      latencyMs: {
        count: 1,
        sum: 1,
        mean: 1,
        max: 1,
        p50: p50 ?? 0,
        p95: (p50 ?? 0) * 2,
        p99: (p50 ?? 0) * 3,
        recentCount: p50 === undefined ? 0 : 10,
      },
    } as unknown as LivePool;
    return [name, pool] as const;
  });
  return {
    time: second * 1000,
    uptimeSeconds: 0,
    version: "test",
    algorithms: [],
    pools: Object.fromEntries(entries),
    listeners: {},
    loadTest: null,
  };
}

/** Adds a live snapshot, as the dashboard does. */
function add(history: ChartHistory, live: LiveSnapshot): void {
  history.add(live.time, live.pools);
}

describe("ChartHistory", () => {
  it("keeps one point per snapshot, per pool, as uPlot columns", () => {
    const history = new ChartHistory();
    add(history, snapshot(100, { web: { rps: 10, p50: 2 }, api: { rps: 1 } }));
    add(history, snapshot(101, { web: { rps: 20, p50: 4 }, api: { rps: 2 } }));
    expect(history.series("web")).toEqual({
      time: [100, 101],
      rps1s: [10, 20],
      rps10s: [5, 10],
      p50: [2, 4],
      p95: [4, 8],
      p99: [6, 12],
    });
    // No response in the window: a gap, not a zero.
    expect(history.series("api").p50).toEqual([null, null]);
    expect(history.series("nowhere").time).toEqual([]);
  });

  it("forgets points older than five minutes, and repeated or older snapshots", () => {
    const history = new ChartHistory();
    for (let second = 0; second <= HISTORY_SECONDS + 50; second++) {
      add(history, snapshot(second, { web: { rps: second } }));
    }
    add(history, snapshot(HISTORY_SECONDS + 50, { web: { rps: 999 } }));
    add(history, snapshot(10, { web: { rps: 999 } }));
    const series = history.series("web");
    expect(series.time[0]).toBe(50);
    expect(series.time.at(-1)).toBe(HISTORY_SECONDS + 50);
    expect(series.time).toHaveLength(HISTORY_SECONDS + 1);
    expect(series.rps1s).toHaveLength(HISTORY_SECONDS + 1);
    expect(series.rps1s).not.toContain(999);
  });

  it("drops a pool that leaves the snapshot", () => {
    const history = new ChartHistory();
    add(history, snapshot(1, { web: { rps: 1 }, old: { rps: 1 } }));
    add(history, snapshot(2, { web: { rps: 1 } }));
    expect(history.series("old").time).toEqual([]);
    expect(history.series("web").time).toEqual([1, 2]);
  });

  it("starts from the server's points, older than any live one", () => {
    const server = new ChartHistory();
    for (let second = 1; second <= 5; second++) add(server, snapshot(second, { web: { rps: second } }));
    const kept = JSON.parse(JSON.stringify(server)) as ReturnType<ChartHistory["toJSON"]>;

    const early = new ChartHistory();
    early.prepend(kept);
    expect(early.series("web").rps1s).toEqual([1, 2, 3, 4, 5]);

    const late = new ChartHistory();
    add(late, snapshot(5, { web: { rps: 50 } }));
    add(late, snapshot(6, { web: { rps: 60 } }));
    late.prepend({ ...kept, gone: kept.web as never });
    expect(late.series("web").time).toEqual([1, 2, 3, 4, 5, 6]);
    expect(late.series("web").rps1s).toEqual([1, 2, 3, 4, 50, 60]);
    expect(late.series("web").p50).toHaveLength(6);
    // A pool the live feed no longer has is not brought back.
    expect(late.series("gone").time).toEqual([]);
  });
});

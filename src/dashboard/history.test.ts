import { describe, expect, it } from "vitest";
import type { LivePool, LiveSnapshot } from "../admin/live-snapshot.js";
import { HISTORY_SECONDS, LiveHistory } from "./history.js";

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

describe("LiveHistory", () => {
  it("keeps one point per snapshot, per pool, as uPlot columns", () => {
    const history = new LiveHistory();
    history.add(snapshot(100, { web: { rps: 10, p50: 2 }, api: { rps: 1 } }));
    history.add(snapshot(101, { web: { rps: 20, p50: 4 }, api: { rps: 2 } }));
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
    const history = new LiveHistory();
    for (let second = 0; second <= HISTORY_SECONDS + 50; second++) {
      history.add(snapshot(second, { web: { rps: second } }));
    }
    history.add(snapshot(HISTORY_SECONDS + 50, { web: { rps: 999 } }));
    history.add(snapshot(10, { web: { rps: 999 } }));
    const series = history.series("web");
    expect(series.time[0]).toBe(50);
    expect(series.time.at(-1)).toBe(HISTORY_SECONDS + 50);
    expect(series.time).toHaveLength(HISTORY_SECONDS + 1);
    expect(series.rps1s).toHaveLength(HISTORY_SECONDS + 1);
    expect(series.rps1s).not.toContain(999);
  });

  it("drops a pool that leaves the snapshot", () => {
    const history = new LiveHistory();
    history.add(snapshot(1, { web: { rps: 1 }, old: { rps: 1 } }));
    history.add(snapshot(2, { web: { rps: 1 } }));
    expect(history.series("old").time).toEqual([]);
    expect(history.series("web").time).toEqual([1, 2]);
  });
});

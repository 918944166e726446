import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { Pool } from "../core/pool.js";
import { InFlightTotals } from "./in-flight-totals.js";

describe("in-flight totals", () => {
  it("sums in flight and weight over ready positive-weight backends, following load changes", () => {
    const pool = new Pool([
      { id: "a", address: "127.0.0.1:1", weight: 2 },
      { id: "b", address: "127.0.0.1:2", weight: 1 },
      { id: "idle", address: "127.0.0.1:3", weight: 0 },
      { id: "down", address: "127.0.0.1:4", weight: 5 },
    ]);
    pool.setState("down", "unhealthy");
    const [a, b, idle, down] = pool.backends as [Backend, Backend, Backend, Backend];
    a.inFlight = 3;
    down.inFlight = 7;
    const totals = new InFlightTotals();
    totals.rebuild(pool.backends);
    expect([totals.inFlight, totals.weight]).toEqual([3, 3]);
    b.inFlight = 4;
    totals.loadChanged(b);
    a.inFlight = 1;
    totals.loadChanged(a);
    idle.inFlight = 9;
    totals.loadChanged(idle);
    down.inFlight = 1;
    totals.loadChanged(down);
    expect(totals.inFlight).toBe(5);
    expect(totals.has(down)).toBe(true);
    totals.rebuild([a]);
    expect(totals.has(down)).toBe(false);
    totals.loadChanged(down);
    expect([totals.inFlight, totals.weight]).toEqual([1, 2]);
  });
});

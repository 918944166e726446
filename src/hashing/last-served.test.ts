import { describe, expect, it } from "vitest";
import { LastServedTable } from "./last-served.js";

describe("last-served table", () => {
  it("counts a hit for the last two distinct backends of a key, a miss otherwise", () => {
    const table = new LastServedTable(64);
    expect(table.serve(42, 1)).toBe(false);
    expect(table.serve(42, 1)).toBe(true);
    expect(table.serve(42, 2)).toBe(false);
    expect(table.serve(42, 1)).toBe(true);
    expect(table.serve(42, 2)).toBe(true);
    expect(table.serve(42, 3)).toBe(false);
    // 3 pushed 1 out: the last two are now 3 and 2.
    expect(table.serve(42, 1)).toBe(false);
    expect(table.lastOf(42)).toBe(1);
    expect(table.lastOf(43)).toBe(0);
    expect(table.size).toBe(1);
  });

  it("stays within its capacity, evicting the least recently used key of a set", () => {
    const table = new LastServedTable(100);
    expect(table.capacity).toBe(100);
    for (let key = 0; key < 10_000; key++) table.serve(key * 7919, 1);
    expect(table.size).toBe(100);
    // The most recent keys are still there.
    let recent = 0;
    for (let key = 9_990; key < 10_000; key++) if (table.lastOf(key * 7919) === 1) recent++;
    expect(recent).toBe(10);
  });
});

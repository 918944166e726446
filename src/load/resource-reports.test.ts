import { describe, expect, it } from "vitest";
import { Pool } from "../core/pool.js";
import { ResourceReportStore } from "./resource-reports.js";

describe("ResourceReportStore", () => {
  it("reads a sample as missing once it is older than the TTL, and counts the hit rate", () => {
    let time = 0;
    const store = new ResourceReportStore({ ttlMs: 2000, now: () => time });
    store.write("a", { cpu: 10, memory: 20, network: 30 });
    expect(store.read("a")).toEqual({ cpu: 10, memory: 20, network: 30, at: 0 });
    time = 2000;
    expect(store.read("a")).toBeDefined();
    time = 2001;
    expect(store.read("a")).toBeUndefined();
    expect(store.read("missing")).toBeUndefined();
    expect(store.peek("a")?.cpu).toBe(10);
    const stats = store.stats();
    expect(stats).toMatchObject({ lookups: 4, freshLookups: 2, hitRate: 0.5, fallbacks: 0, ttlMs: 2000 });
    expect(stats.backends.a).toEqual({ cpu: 10, memory: 20, network: 30, ageMs: 2001, fresh: false });
  });

  it("takes the sample time from the writer (a sample already old when it arrives)", () => {
    const time = 10_000;
    const store = new ResourceReportStore({ ttlMs: 1000, now: () => time });
    store.write("a", { cpu: 1, memory: 1, network: 0 }, time - 1500);
    expect(store.read("a")).toBeUndefined();
  });

  it("forgets a removed backend's sample", async () => {
    const pool = new Pool([{ id: "web", address: "127.0.0.1:1" }]);
    const store = new ResourceReportStore();
    store.follow(pool);
    store.write("web", { cpu: 1, memory: 0, network: 0 });
    await pool.remove("web");
    expect(store.peek("web")).toBeUndefined();
  });

  it("can be reconfigured", () => {
    const store = new ResourceReportStore();
    store.configure({ ttlMs: 5, fallback: "none" });
    expect([store.ttlMs, store.fallback]).toEqual([5, "none"]);
  });
});

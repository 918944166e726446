import { performance } from "node:perf_hooks";
import { describe, expect, it, vi } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import type { Outcome } from "../core/outcome.js";
import type { HealthChangeEvent } from "./health-monitor.js";
import { type OutlierDetectionOptions, outlierDetectionSchema } from "./health-options.js";
import { OutlierDetector } from "./outlier-detector.js";

const FAILURE: Outcome = { status: 503, latencyMs: 1 };
const SUCCESS: Outcome = { status: 200, latencyMs: 1 };

function setup(size = 4, outlierDetection: OutlierDetectionOptions | false = {}) {
  let now = 0;
  const balancer = createBalancer({
    backends: Array.from({ length: size }, (_, i) => ({ id: `b${i}`, address: `127.0.0.1:${9001 + i}` })),
    now: () => now,
    circuitBreaker: false,
    outlierDetection,
  });
  const events: HealthChangeEvent[] = [];
  balancer.onHealthChange((event) => events.push(event));
  /** Reports `n` attempts on backend `id` with `outcome`, as the proxy's close path would. */
  const report = (id: string, n: number, outcome: Outcome) => {
    const backend = balancer.pool.require(id);
    for (let i = 0; i < n; i++) {
      backend.inFlight++;
      balancer.close(backend, outcome);
    }
  };
  const health = (id: string) => balancer.stats().backends.find((backend) => backend.id === id)?.health;
  return { balancer, events, report, health, advance: (ms: number) => (now += ms), now: () => now };
}

describe("outlier detection in the balancer", () => {
  it("ejects a backend after 5 consecutive failures, with reason outlier", () => {
    const { balancer, events, report, health } = setup();
    report("b0", 4, FAILURE);
    expect(balancer.pool.require("b0").state).toBe("healthy");
    report("b0", 1, { error: "ECONNREFUSED" });
    expect(balancer.pool.require("b0").state).toBe("unhealthy");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ previous: "healthy", state: "unhealthy", reason: "outlier" });
    expect(events[0]?.detail).toBe("5 consecutive failures; ejected for 30000 ms");
    expect(health("b0")).toMatchObject({ ejected: true, ejections: 1, ejectedUntil: 30_000 });
    for (let i = 0; i < 12; i++) expect(balancer.select({}).backend.id).not.toBe("b0");
  });

  it("counts only consecutive failures: a success resets the count", () => {
    const { balancer, report, health } = setup();
    report("b0", 4, FAILURE);
    report("b0", 1, SUCCESS);
    report("b0", 4, FAILURE);
    expect(balancer.pool.require("b0").state).toBe("healthy");
    expect(health("b0")?.passiveFailures).toBe(4);
  });

  it("does not count cancelled hedges, 4xx answers or attempts with nothing known", () => {
    const { balancer, report, health } = setup();
    report("b0", 4, FAILURE);
    report("b0", 3, { error: "hedge-cancelled" });
    report("b0", 2, {});
    expect(health("b0")?.passiveFailures).toBe(4);
    report("b0", 1, { status: 404, latencyMs: 1 });
    expect(health("b0")?.passiveFailures).toBe(0);
    expect(balancer.pool.require("b0").state).toBe("healthy");
  });

  it("returns an ejected backend after its ejection time on the next selection under an injected clock", () => {
    const { balancer, events, report, advance, health } = setup();
    report("b0", 5, FAILURE);
    advance(29_999);
    balancer.select({}).finish(SUCCESS);
    expect(balancer.pool.require("b0").state).toBe("unhealthy");
    advance(1);
    balancer.select({}).finish(SUCCESS);
    expect(balancer.pool.require("b0").state).toBe("healthy");
    expect(events.at(-1)).toMatchObject({
      previous: "unhealthy",
      state: "healthy",
      reason: "outlier-expired",
    });
    expect(health("b0")).toMatchObject({ ejected: false, ejections: 1, passiveFailures: 0 });
  });

  it("ejects for longer each time, up to maxEjectionMs", () => {
    const setupClock = setup(4, { maxEjectionMs: 100_000 });
    const { balancer, report, advance, health } = setupClock;
    const { now } = setupClock;
    const lengths: number[] = [];
    for (let round = 0; round < 5; round++) {
      report("b0", 5, FAILURE);
      const length = (health("b0")?.ejectedUntil ?? 0) - now();
      lengths.push(length);
      advance(length);
      balancer.select({}).finish(SUCCESS);
      expect(balancer.pool.require("b0").state).toBe("healthy");
    }
    expect(lengths).toEqual([30_000, 60_000, 90_000, 100_000, 100_000]);
    expect(health("b0")?.ejections).toBe(5);
  });

  it("never ejects more than maxEjectedPercent of the pool", () => {
    const { balancer, report, health } = setup(4);
    for (const id of ["b0", "b1", "b2", "b3"]) report(id, 5, FAILURE);
    const ejected = balancer.pool.backends
      .filter((backend) => backend.state === "unhealthy")
      .map((b) => b.id);
    expect(ejected).toEqual(["b0", "b1"]);
    expect(health("b2")).toMatchObject({ ejected: false, passiveFailures: 5 });
  });

  it("ejects once room frees up, and never ejects the only backend of a pool", () => {
    const { balancer, report, advance } = setup(2);
    report("b0", 5, FAILURE);
    report("b1", 5, FAILURE);
    expect(balancer.pool.require("b1").state).toBe("healthy");
    advance(30_000);
    balancer.select({}).finish(SUCCESS);
    report("b1", 1, FAILURE);
    expect(balancer.pool.require("b1").state).toBe("unhealthy");

    const single = setup(1);
    single.report("b0", 20, FAILURE);
    expect(single.balancer.pool.require("b0").state).toBe("healthy");
  });

  it("never touches a draining backend, and an outside write ends the ejection", () => {
    const { balancer, report, advance, health } = setup();
    balancer.pool.setState("b1", "draining");
    report("b1", 10, FAILURE);
    expect(balancer.pool.require("b1").state).toBe("draining");

    report("b0", 5, FAILURE);
    balancer.pool.setState("b0", "healthy");
    expect(health("b0")?.ejected).toBe(false);
    advance(30_000);
    balancer.select({});
    expect(balancer.pool.require("b0").state).toBe("healthy");
  });

  it("leaves a state set meanwhile by someone else when the ejection ends", () => {
    const { balancer, report, advance, events } = setup();
    report("b0", 5, FAILURE);
    balancer.pool.setState("b0", "draining");
    expect(events.at(-1)).toMatchObject({ state: "draining", reason: "external" });
    advance(30_000);
    balancer.select({});
    expect(balancer.pool.require("b0").state).toBe("draining");
  });

  it("can be disabled", () => {
    const { balancer, report, health } = setup(4, false);
    report("b0", 20, FAILURE);
    expect(balancer.pool.require("b0").state).toBe("healthy");
    expect(health("b0")).toMatchObject({ ejected: false, ejections: 0, passiveFailures: 0 });
  });
});

describe("outlier detection on the real clock", () => {
  it("readmits an ejected backend when its ejection ends, with no traffic, and tells listeners", async () => {
    const balancer = createBalancer({
      backends: [
        { id: "a", address: "127.0.0.1:9001" },
        { id: "b", address: "127.0.0.1:9002" },
      ],
      circuitBreaker: false,
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 150 },
    });
    const expired = new Promise<{ event: HealthChangeEvent; at: number }>((resolve) => {
      balancer.onHealthChange((event) => {
        if (event.reason === "outlier-expired") resolve({ event, at: performance.now() });
      });
    });
    const a = balancer.pool.require("a");
    for (let i = 0; i < 2; i++) {
      a.inFlight++;
      balancer.close(a, FAILURE);
    }
    expect(a.state).toBe("unhealthy");
    const until = balancer.stats().backends[0]?.health.ejectedUntil as number;
    const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, 2_000, undefined));
    const heard = await Promise.race([expired, timeout]);
    expect(heard?.event).toMatchObject({ previous: "unhealthy", state: "healthy" });
    expect(heard?.at).toBeGreaterThanOrEqual(until);
    expect((heard?.at as number) - until).toBeLessThan(1_000);
    expect(balancer.stats().backends[0]?.health).toMatchObject({ ejected: false, ejectedUntil: undefined });
    await balancer.stop();
  });

  it("clears its timer when the ejected backend leaves the pool and when the balancer stops", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const { balancer, report } = setup(4);
      expect(vi.getTimerCount()).toBe(0);
      report("b0", 5, FAILURE);
      expect(vi.getTimerCount()).toBe(1);
      await balancer.pool.remove("b0");
      expect(vi.getTimerCount()).toBe(0);
      report("b1", 5, FAILURE);
      expect(vi.getTimerCount()).toBe(1);
      await balancer.stop();
      expect(vi.getTimerCount()).toBe(0);
      balancer.start();
      expect(vi.getTimerCount()).toBe(1);
      await balancer.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("OutlierDetector", () => {
  it("calls its hooks and ends ejections on tick with an injected clock", () => {
    let now = 1_000;
    const { pool } = createBalancer({
      backends: [
        { id: "a", address: "127.0.0.1:9001" },
        { id: "b", address: "127.0.0.1:9002" },
      ],
      outlierDetection: false,
    });
    const calls: string[] = [];
    const detector = new OutlierDetector(
      pool,
      outlierDetectionSchema.parse({ consecutiveFailures: 2, baseEjectionMs: 100 }),
      () => now,
      {
        eject: (backend, detail) => calls.push(`eject ${backend.id}: ${detail}`),
        restore: (backend) => calls.push(`restore ${backend.id}`),
      },
    );
    const a = pool.require("a");
    detector.record(a, FAILURE);
    detector.record(a, FAILURE);
    detector.record(a, FAILURE);
    expect(calls).toEqual(["eject a: 2 consecutive failures; ejected for 100 ms"]);
    expect(detector.details(a)).toEqual({
      consecutiveFailures: 0,
      ejected: true,
      ejections: 1,
      ejectedUntil: 1_100,
    });
    now = 1_099;
    detector.tick();
    expect(detector.isEjected(a)).toBe(true);
    now = 1_100;
    detector.tick();
    expect(calls.at(-1)).toBe("restore a");
    expect(detector.isEjected(a)).toBe(false);
    expect(detector.ejections).toBe(1);
  });
});

/**
 * What the balancer records through its metrics hooks, on an injected clock:
 * rates, latency percentiles, outcome classes, load spread, the recent
 * decisions ring (bounded, sampled, with candidates' scores as they were),
 * the debug routing log, and nothing at all with `metrics: false`.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type CheckedBalancerOptions, createBalancer } from "../balancer/balancer.js";
import type { Decision } from "../core/decision.js";
import { coefficientOfVariation } from "./balancer-metrics.js";

function balancerAt(clock: { now: number }, options: CheckedBalancerOptions = {}) {
  return createBalancer({
    backends: [
      { id: "a", address: "127.0.0.1:41001", region: "eu" },
      { id: "b", address: "127.0.0.1:41002", region: "us" },
      { id: "c", address: "127.0.0.1:41003" },
    ],
    now: () => clock.now,
    circuitBreaker: false,
    outlierDetection: false,
    ...options,
  });
}

function captureLog(level: string) {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { logger, entries };
}

describe("balancer metrics: rates and latency", () => {
  it("counts requests per second over 1, 10 and 60 s windows on the balancer's clock", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock);
    const metrics = balancer.metrics;
    expect(metrics).toBeDefined();
    for (let index = 0; index < 6; index++) balancer.select({}).finish({ status: 200, latencyMs: 1 });
    clock.now = 1_500;
    for (let index = 0; index < 2; index++) balancer.select({}).finish({ status: 200, latencyMs: 1 });
    clock.now = 2_000;
    expect(metrics?.snapshot().requestsPerSecond).toEqual({ "1s": 2, "10s": 4, "60s": 4 });
    clock.now = 30_000;
    expect(metrics?.snapshot().requestsPerSecond).toEqual({ "1s": 0, "10s": 0, "60s": 0.267 });
  });

  it("keeps p50 ≤ p95 ≤ p99 per pool and per backend, and classes every outcome", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock, { algorithm: "round-robin" });
    for (let index = 1; index <= 300; index++) {
      const decision = balancer.select({});
      if (index % 100 === 0) decision.finish({ error: "SY_ERR_UPSTREAM_RESET" });
      else if (index % 50 === 0) decision.finish({ status: 503, latencyMs: 2 });
      else decision.finish({ status: 200, latencyMs: index });
    }
    const snapshot = balancer.metrics?.snapshot();
    const latency = snapshot?.latencyMs;
    expect(latency?.count).toBe(297);
    expect(latency?.p50).toBeGreaterThan(140);
    expect(latency?.p50).toBeLessThan(160);
    expect(latency?.p50).toBeLessThanOrEqual(latency?.p95 as number);
    expect(latency?.p95).toBeLessThanOrEqual(latency?.p99 as number);
    expect(latency?.p99).toBeLessThanOrEqual(300);
    expect(snapshot?.decisionNs.count).toBe(300);
    expect(snapshot?.decisionNs.p50).toBeGreaterThan(0);

    const backends = snapshot?.backends ?? [];
    expect(backends.map((backend) => backend.id)).toEqual(["a", "b", "c"]);
    let total = 0;
    for (const backend of backends) {
      expect(backend.latencyMs.p50).toBeLessThanOrEqual(backend.latencyMs.p95);
      expect(backend.latencyMs.p95).toBeLessThanOrEqual(backend.latencyMs.p99);
      total += Object.values(backend.statusClasses).reduce((sum, count) => sum + count, 0);
    }
    expect(total).toBe(300);
    const classes = (name: string) =>
      backends.reduce((sum, backend) => sum + backend.statusClasses[name as "2xx"], 0);
    expect(classes("2xx")).toBe(294);
    expect(classes("5xx")).toBe(3);
    expect(classes("error")).toBe(3);
    expect(snapshot?.regions).toEqual({ eu: 100, us: 100, none: 100 });
    // Round-robin spreads evenly.
    expect(snapshot?.loadCv.requests).toBe(0);
  });

  it("lets recent percentiles age out while lifetime counts stay", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock);
    balancer.select({}).finish({ status: 200, latencyMs: 5 });
    clock.now = 25_000;
    const latency = balancer.metrics?.snapshot().latencyMs;
    expect(latency).toMatchObject({ count: 1, recentCount: 0, p50: 0, max: 5 });
  });

  it("keeps each backend's recent percentiles moving with the pool's under steady traffic", () => {
    const clock = { now: 0 };
    const balancer = createBalancer({
      backends: [{ id: "a", address: "127.0.0.1:41001" }],
      now: () => clock.now,
      circuitBreaker: false,
      outlierDetection: false,
    });
    // One 5 ms response every 5 s for a minute: the recent window always holds two to four of them.
    for (let at = 0; at <= 60_000; at += 5_000) {
      clock.now = at;
      balancer.select({}).finish({ status: 200, latencyMs: 5 });
      const snapshot = balancer.metrics?.snapshot();
      const backend = snapshot?.backends[0]?.latencyMs;
      expect({ at, p50: backend?.p50, recent: backend?.recentCount }).toEqual({
        at,
        p50: snapshot?.latencyMs.p50,
        recent: snapshot?.latencyMs.recentCount,
      });
      expect(backend?.p50).toBe(5);
      expect(snapshot?.backends[0]?.recentRequests).toBe(backend?.recentCount);
    }
  });

  it("measures load spread as a coefficient of variation per unit of weight", () => {
    expect(coefficientOfVariation([5, 5, 5])).toBe(0);
    expect(coefficientOfVariation([0, 0])).toBe(0);
    expect(coefficientOfVariation([1, 3])).toBe(0.5);
    const clock = { now: 0 };
    const balancer = balancerAt(clock, { algorithm: "round-robin" });
    const open: Decision[] = [];
    for (let index = 0; index < 3; index++) open.push(balancer.select({}));
    expect(balancer.metrics?.snapshot().loadCv.inFlight).toBe(0);
    open[0]?.finish({ status: 200, latencyMs: 1 });
    // In flight 0, 1, 1: mean 2/3, std √2/3, so std / mean = 1/√2.
    expect(balancer.metrics?.snapshot().loadCv.inFlight).toBeCloseTo(Math.SQRT1_2, 3);
  });
});

describe("balancer metrics: recent decisions", () => {
  it("keeps the last N decisions, newest first, with each candidate's score as it was", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock, {
      algorithm: "least-connections",
      metrics: { explain: { capacity: 4 } },
    });
    const open: Decision[] = [];
    for (let index = 0; index < 10; index++) {
      clock.now = index * 10;
      open.push(balancer.select({ method: "GET", path: `/${index}` }));
    }
    const recent = balancer.metrics?.recentDecisions() ?? [];
    expect(recent).toHaveLength(4);
    expect(recent.map((decision) => decision.seq)).toEqual([10, 9, 8, 7]);
    expect(recent[0]).toMatchObject({ algorithm: "least-connections", at: 90, scoresAt: "decision" });
    expect(recent[0]?.time).toBeUndefined();
    for (const decision of recent) {
      expect(decision.candidates.map((candidate) => candidate.id)).toEqual(["a", "b", "c"]);
      const winner = decision.candidates.find((candidate) => candidate.id === decision.backend);
      for (const candidate of decision.candidates) {
        expect(typeof candidate.score).toBe("number");
        expect(candidate.ready).toBe(true);
        // Least connections: the winner had the lowest score when it was chosen.
        expect(winner?.score).toBeLessThanOrEqual(candidate.score as number);
      }
      expect(decision.reason).toContain("in flight");
      expect(decision.attempts).toEqual([decision.backend]);
    }
    // Decision 10 chose among 3 in flight each, decision 7 among 2 (scores count the request to place).
    expect(recent[0]?.candidates.map((candidate) => candidate.score)).toEqual([4, 4, 4]);
    expect(recent[3]?.candidates.map((candidate) => candidate.score)).toEqual([3, 3, 3]);
    expect(balancer.metrics?.recentDecisions(2)).toHaveLength(2);
  });

  it("keeps each reason as it was when chosen, so it still matches the recorded score", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock, { algorithm: "least-latency" });
    const latencies: Record<string, number> = { a: 40, b: 10, c: 25 };
    // Unmeasured backends (load 0) win first, so each gets one sample.
    for (let index = 0; index < 3; index++) {
      const decision = balancer.select({});
      decision.finish({ status: 200, latencyMs: latencies[decision.backend.id] as number });
    }
    const first = balancer.select({});
    const [kept] = balancer.metrics?.recentDecisions(1) ?? [];
    const score = kept?.candidates.find((candidate) => candidate.id === kept.backend)?.score as number;
    expect(first.backend.id).toBe("b");
    expect(kept?.reason).toBe(`lowest ewma-latency (${score})`);

    // The winner slows down and later decisions move its EWMA: the kept reason must not follow.
    first.finish({ status: 200, latencyMs: 500 });
    for (let index = 0; index < 5; index++) balancer.select({}).finish({ status: 200, latencyMs: 300 });
    const again = balancer.metrics?.recentDecisions().find((decision) => decision.seq === kept?.seq);
    expect(first.reason()).not.toBe(kept?.reason);
    expect(again?.candidates).toEqual(kept?.candidates);
    expect(again?.reason).toBe(`lowest ewma-latency (${score})`);
  });

  it("samples every Nth decision, keeps none at 0, and shows failovers", () => {
    const clock = { now: 0 };
    const sampled = balancerAt(clock, { metrics: { explain: { sample: 3 } } });
    const decisions = Array.from({ length: 9 }, () => sampled.select({}));
    const recent = sampled.metrics?.recentDecisions() ?? [];
    expect(recent.map((decision) => decision.seq)).toEqual([3, 2, 1]);
    expect(recent.map((decision) => decision.backend)).toEqual(
      [decisions[8], decisions[5], decisions[2]].map((decision) => decision?.backend.id),
    );
    decisions[8]?.finish({ error: "SY_ERR_UPSTREAM_CONNECT" });
    const next = decisions[8]?.next();
    expect(sampled.metrics?.recentDecisions(1)[0]?.attempts).toEqual([recent[0]?.backend, next?.id]);

    const none = balancerAt(clock, { metrics: { explain: { sample: 0 } } });
    none.select({});
    expect(none.metrics?.recentDecisions()).toEqual([]);
    expect(() => balancerAt(clock, { metrics: { explain: { sample: -1 } } })).toThrow(/sample/);
  });

  it("reads scores at explain time for pools larger than maxScored", () => {
    const clock = { now: 0 };
    const balancer = balancerAt(clock, {
      algorithm: "least-connections",
      metrics: { explain: { maxScored: 2 } },
    });
    balancer.select({});
    const [decision] = balancer.metrics?.recentDecisions() ?? [];
    expect(decision?.scoresAt).toBe("read");
    expect(decision?.candidates).toHaveLength(3);
  });

  it("gives wall-clock times on the default clock", () => {
    const balancer = createBalancer({ backends: [{ address: "127.0.0.1:41001" }] });
    balancer.select({});
    const [decision] = balancer.metrics?.recentDecisions() ?? [];
    expect(Math.abs(Date.parse(decision?.time as string) - Date.now())).toBeLessThan(5_000);
  });
});

describe("balancer metrics: debug routing log and opting out", () => {
  it("logs why each backend was chosen when the logger is at debug", () => {
    const clock = { now: 0 };
    const debug = captureLog("debug");
    const balancer = balancerAt(clock, { algorithm: "least-connections", logger: debug.logger });
    const decision = balancer.select({ path: "/x" });
    const line = debug.entries.find((entry) => entry.msg === "routing decision");
    expect(line).toMatchObject({ level: 20, algorithm: "least-connections", backend: decision.backend.id });
    expect(line?.reason).toEqual(expect.stringContaining("in flight"));
    expect(line?.candidates).toHaveLength(3);

    const info = captureLog("info");
    balancerAt(clock, { logger: info.logger }).select({});
    expect(info.entries.filter((entry) => entry.msg === "routing decision")).toEqual([]);
  });

  it("records nothing with metrics: false, and the balancer works as before", () => {
    const clock = { now: 0 };
    const debug = captureLog("debug");
    const balancer = balancerAt(clock, { metrics: false, logger: debug.logger });
    expect(balancer.metrics).toBeUndefined();
    for (let index = 0; index < 5; index++) balancer.select({}).finish({ status: 200, latencyMs: 3 });
    expect(balancer.stats()).toMatchObject({ decisions: 5, requests: 5, errors: 0, inFlight: 0 });
    expect(debug.entries.filter((entry) => entry.msg === "routing decision")).toEqual([]);
  });
});

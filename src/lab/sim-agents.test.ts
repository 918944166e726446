/**
 * Agent reports are events of the simulation: with agents on, every poll
 * interval of simulated time each backend in the pool reports into the
 * balancer's metrics store, a failing backend stops reporting until it is
 * back, and a backend not yet in the pool sends nothing. Watched from inside
 * the run by a round-robin algorithm registered for this file only (vitest
 * isolates test files) that notes each backend's latest report at every pick.
 */
import { describe, expect, it } from "vitest";
import { noOptions, registerAlgorithm } from "../algorithms/registry.js";
import type { Backend } from "../core/backend.js";
import type { Accept, Selector } from "../core/selector.js";
import type { ResourceReport, ResourceReportStore } from "../load/resource-reports.js";
import { arrivalRateRps, getScenario } from "./scenarios.js";
import { Simulation } from "./simulator.js";

interface Pick {
  now: number;
  /** Latest report per backend id at the pick. */
  reports: Map<string, ResourceReport | undefined>;
}

const picks: Pick[] = [];
const scenarioIds: string[] = [];

class ReportWatcher implements Selector {
  readonly name = "lab-test-agent-watcher";
  #backends: readonly Backend[] = [];
  #next = 0;
  #now: () => number;
  #store: ResourceReportStore;

  constructor(now: () => number, store: ResourceReportStore) {
    this.#now = now;
    this.#store = store;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
  }

  pick(_ctx: unknown, accept: Accept): Backend | undefined {
    picks.push({ now: this.#now(), reports: new Map(scenarioIds.map((id) => [id, this.#store.peek(id)])) });
    for (let step = 0; step < this.#backends.length; step++) {
      const backend = this.#backends[this.#next++ % this.#backends.length] as Backend;
      if (accept(backend)) return backend;
    }
    return undefined;
  }

  describe(): string {
    return "test";
  }
}

registerAlgorithm({
  name: "lab-test-agent-watcher",
  summary: "notes the agents' latest reports at each pick",
  options: noOptions,
  create: (_options, env) => new ReportWatcher(env.now, env.resourceReports as ResourceReportStore),
});

/** Runs `scenarioName` with agents polled every `pollIntervalMs`; returns the run and its expected arrival window, ms. */
function watch(
  scenarioName: string,
  requests: number,
  pollIntervalMs: number,
): { simulation: Simulation; durationMs: number } {
  const scenario = getScenario(scenarioName);
  picks.length = 0;
  scenarioIds.length = 0;
  scenarioIds.push(...scenario.backends.map((backend) => backend.id));
  const simulation = new Simulation({
    scenario,
    algorithm: "lab-test-agent-watcher",
    requests,
    seed: 5,
    agents: { pollIntervalMs },
  });
  simulation.run();
  // One pick per request, more for failovers.
  expect(picks.length).toBeGreaterThanOrEqual(requests);
  return { simulation, durationMs: (requests * 1000) / arrivalRateRps(scenario) };
}

/** The poll time at or before `now`. */
const lastPoll = (now: number, interval: number) => Math.floor(now / interval) * interval;

describe("simulated agents", () => {
  it("report every poll interval of simulated time, into the balancer's store", () => {
    const interval = 250;
    const { simulation } = watch("uneven-load", 5_000, interval);
    const window = simulation.agents?.arrivalWindow;
    if (!window) throw new Error("no arrival window");
    expect(window.endMs).toBeGreaterThan(40 * interval);
    const backgrounds = getScenario("uneven-load").backends.map((backend) => backend.backgroundLoad ?? 0);
    /** Per backend, each report's CPU by its time. */
    const reported = scenarioIds.map(() => new Map<number, number>());
    for (const { now, reports } of picks) {
      scenarioIds.forEach((id, i) => {
        const report = reports.get(id);
        if (now < interval) {
          expect(report).toBeUndefined();
          return;
        }
        // The latest report is the one of the last poll time: one per interval, none missed.
        expect(report?.at).toBe(lastPoll(now, interval));
        expect(report?.cpu).toBeGreaterThanOrEqual((backgrounds[i] as number) * 100);
        // Full, give or take the rounding of the busy-time sums.
        expect(report?.cpu).toBeLessThan(100 + 1e-9);
        expect(report?.memory).toBeGreaterThanOrEqual(30);
        expect(report?.memory).toBeLessThan(40 + 1e-9);
        expect(report?.network).toBeGreaterThan(0);
        if (report) reported[i]?.set(report.at, report.cpu);
      });
    }
    // The reports cover the run: their CPU averages to each backend's mean over the arrival window.
    scenarioIds.forEach((_id, i) => {
      const cpus = [...(reported[i]?.values() ?? [])];
      expect(cpus.length).toBe(Math.floor(window.endMs / interval));
      const mean = cpus.reduce((total, cpu) => total + cpu, 0) / cpus.length;
      expect(Math.abs(mean - (window.backends[i]?.cpuPercent ?? 0))).toBeLessThan(2);
    });
  });

  it("a failing backend reports nothing until it is back; one not yet in the pool, nothing", () => {
    const interval = 100;
    const { durationMs } = watch("failure", 20_000, interval);
    // b2 is down over 30%..60% of the run: its last report is the one before.
    const fromMs = 0.3 * durationMs;
    const toMs = 0.6 * durationMs;
    let during = 0;
    let after = 0;
    for (const { now, reports } of picks) {
      if (now > fromMs && now < toMs) {
        during++;
        expect(reports.get("b2")?.at).toBe(lastPoll(fromMs, interval));
        expect(reports.get("b1")?.at).toBe(lastPoll(now, interval));
      } else if (now > toMs + interval) {
        after++;
        expect(reports.get("b2")?.at).toBe(lastPoll(now, interval));
      }
    }
    expect(during).toBeGreaterThan(1_000);
    expect(after).toBeGreaterThan(1_000);

    const scaleOut = watch("scale-out", 20_000, interval);
    // b5 joins at 35% of the run: its first report is at the first poll after.
    const joinMs = 0.35 * scaleOut.durationMs;
    for (const { now, reports } of picks) {
      if (now < lastPoll(joinMs, interval) + interval) expect(reports.get("b5")).toBeUndefined();
      else expect(reports.get("b5")?.at).toBe(lastPoll(now, interval));
    }
  });
});

import { describe, expect, it } from "vitest";
import { type CheckResult, HealthState, type ProbeTransition } from "./health-state.js";

const OK: CheckResult = { ok: true, latencyMs: 5, detail: "HTTP 200" };
const FAIL: CheckResult = { ok: false, latencyMs: 5, detail: "HTTP 503" };
const SLOW: CheckResult = { ok: true, latencyMs: 900, detail: "HTTP 200" };
const SCHEDULE = { intervalMs: 1_000, maxIntervalMs: 8_000, jitter: 0 };

/** Feeds results one second apart and returns the transitions as `previous→state:reason`. */
function run(state: HealthState, results: CheckResult[]): string[] {
  return results
    .map((result, i) => state.record(result, (i + 1) * 1_000))
    .filter((transition): transition is ProbeTransition => transition !== undefined)
    .map((transition) => `${transition.previous}→${transition.state}:${transition.reason}`);
}

/** A state past its first check, which passed. */
function settled(options: ConstructorParameters<typeof HealthState>[0]): HealthState {
  const state = new HealthState(options);
  state.record(OK, 0);
  return state;
}

describe("HealthState", () => {
  it("starts unknown, and its first check settles it: healthy if it passes, unhealthy if it fails", () => {
    const passing = new HealthState({ rise: 2, fall: 3 });
    expect(passing.state).toBe("unknown");
    expect(run(passing, [OK])).toEqual(["unknown→healthy:check-passed"]);
    const failing = new HealthState({ rise: 2, fall: 3 });
    expect(run(failing, [FAIL])).toEqual(["unknown→unhealthy:check-failed"]);
    expect(run(failing, [OK, OK])).toEqual(["unhealthy→healthy:check-passed"]);
    const slow = new HealthState({ rise: 2, fall: 3, degradedLatencyMs: 500 });
    expect(run(slow, [SLOW])).toEqual(["unknown→degraded:slow"]);
  });

  it("turns degraded on a first failure and unhealthy after `fall` in a row", () => {
    const state = settled({ rise: 2, fall: 3 });
    expect(run(state, [FAIL, FAIL])).toEqual(["healthy→degraded:check-failed"]);
    expect(state.state).toBe("degraded");
    expect(run(state, [FAIL, FAIL])).toEqual(["degraded→unhealthy:check-failed"]);
    expect(state.details()).toMatchObject({ consecutiveFail: 4, consecutiveOk: 0, checks: 5 });
  });

  it("needs `rise` passes in a row to come back, and a failure in between restarts the count", () => {
    const state = settled({ rise: 2, fall: 3 });
    run(state, [FAIL, FAIL, FAIL]);
    expect(run(state, [OK, FAIL, OK])).toEqual([]);
    expect(state.state).toBe("unhealthy");
    expect(run(state, [OK])).toEqual(["unhealthy→healthy:check-passed"]);
    expect(state.details().consecutiveOk).toBe(2);
  });

  it("returns from degraded after `rise` passes, without going unhealthy", () => {
    const state = settled({ rise: 2, fall: 3 });
    expect(run(state, [FAIL, OK, OK])).toEqual([
      "healthy→degraded:check-failed",
      "degraded→healthy:check-passed",
    ]);
  });

  it("marks a slow passing check degraded, and a fast one heals it", () => {
    const state = settled({ rise: 2, fall: 3, degradedLatencyMs: 500 });
    expect(run(state, [OK, SLOW, SLOW])).toEqual(["healthy→degraded:slow"]);
    expect(state.details()).toMatchObject({ lastResult: "slow", lastLatencyMs: 900, consecutiveOk: 4 });
    expect(run(state, [OK])).toEqual(["degraded→healthy:check-passed"]);
  });

  it("recovers from unhealthy to degraded when the passing checks are slow", () => {
    const state = settled({ rise: 2, fall: 1, degradedLatencyMs: 500 });
    expect(run(state, [FAIL, SLOW, SLOW, OK])).toEqual([
      "healthy→unhealthy:check-failed",
      "unhealthy→degraded:slow",
      "degraded→healthy:check-passed",
    ]);
  });

  it("keeps the details of the last check", () => {
    const state = settled({ rise: 2, fall: 3 });
    state.record({ ok: false, latencyMs: 12.3456, detail: "ECONNREFUSED" }, 42);
    expect(state.details()).toEqual({
      state: "degraded",
      consecutiveOk: 0,
      consecutiveFail: 1,
      checks: 2,
      lastCheckAt: 42,
      lastResult: "fail",
      lastLatencyMs: 12.346,
      lastDetail: "ECONNREFUSED",
    });
  });

  it("backs off while unhealthy, doubling up to the cap, and resets after a pass", () => {
    const state = new HealthState({ rise: 2, fall: 2 });
    const delay = () => state.nextDelayMs(SCHEDULE, () => 0.5);
    expect(delay()).toBe(1_000);
    run(state, [FAIL]);
    expect(delay()).toBe(1_000);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      run(state, [FAIL]);
      delays.push(delay());
    }
    expect(delays).toEqual([2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
    run(state, [OK]);
    expect(state.state).toBe("unhealthy");
    expect(delay()).toBe(1_000);
  });

  it("spreads each delay by ±jitter using the injected random source", () => {
    const state = new HealthState({ rise: 2, fall: 3 });
    const options = { ...SCHEDULE, jitter: 0.1 };
    expect(state.nextDelayMs(options, () => 0)).toBe(900);
    expect(state.nextDelayMs(options, () => 0.5)).toBe(1_000);
    expect(state.nextDelayMs(options, () => 0.999_999)).toBe(1_100);
  });
});

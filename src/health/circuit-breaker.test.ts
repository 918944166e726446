import { describe, expect, it } from "vitest";
import { type BreakerState, CircuitBreaker, circuitBreakerOptions } from "./circuit-breaker.js";

function setup(overrides: Record<string, number> = {}) {
  let now = 1_000_000;
  const changes: string[] = [];
  const breaker = new CircuitBreaker(
    circuitBreakerOptions.parse({ minRequests: 10, ...overrides }),
    () => now,
    (state: BreakerState, previous: BreakerState) => changes.push(`${previous}->${state}`),
  );
  return { breaker, changes, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("uses the original systems' defaults: 50% errors, 30 s open", () => {
    expect(circuitBreakerOptions.parse({})).toMatchObject({
      errorRate: 0.5,
      openMs: 30_000,
      minRequests: 20,
    });
  });

  it("stays closed below the minimum request count, however many fail", () => {
    const { breaker } = setup();
    for (let i = 0; i < 9; i++) breaker.record(false);
    expect(breaker.state).toBe("closed");
    breaker.record(false);
    expect(breaker.state).toBe("open");
  });

  it("opens at the error-rate threshold, not below it", () => {
    const { breaker } = setup();
    for (let i = 0; i < 6; i++) breaker.record(true);
    for (let i = 0; i < 5; i++) breaker.record(false);
    expect(breaker.state).toBe("closed"); // 5/11 < 50%
    breaker.record(false); // 6/12 = 50%
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBe(false);
  });

  it("forgets outcomes older than the window", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 9; i++) breaker.record(false);
    advance(11_000);
    breaker.record(false);
    expect(breaker.window()).toEqual({ total: 1, errors: 1 });
    expect(breaker.state).toBe("closed");
  });

  it("half-opens after openMs, lets a few probes through, closes when they pass", () => {
    const { breaker, changes, advance } = setup();
    for (let i = 0; i < 10; i++) breaker.record(false);
    advance(29_999);
    expect(breaker.state).toBe("open");
    advance(1);
    expect(breaker.state).toBe("half-open");
    expect([breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    breaker.record(true);
    breaker.record(true);
    breaker.record(true);
    expect(breaker.state).toBe("closed");
    expect(changes).toEqual(["closed->open", "open->half-open", "half-open->closed"]);
  });

  it("answers admits without taking a probe slot or changing state", () => {
    const { breaker, changes, advance } = setup({ halfOpenProbes: 1 });
    for (let i = 0; i < 10; i++) breaker.record(false);
    advance(30_000);
    // Due to half-open, but only reading the state moves it there.
    expect(breaker.admits).toBe(false);
    expect(changes).toEqual(["closed->open"]);
    expect(breaker.state).toBe("half-open");
    for (let i = 0; i < 5; i++) expect(breaker.admits).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.admits).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it("re-opens on a failed probe and waits the full time again", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 10; i++) breaker.record(false);
    advance(30_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.record(false);
    expect(breaker.state).toBe("open");
    advance(29_000);
    expect(breaker.state).toBe("open");
    advance(1_000);
    expect(breaker.state).toBe("half-open");
  });
});

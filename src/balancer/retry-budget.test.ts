import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_BUDGET, RetryBudget } from "./retry-budget.js";

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

/** Retries taken until the budget says no, at most `limit`. */
function drain(budget: RetryBudget, limit = 10_000): number {
  let taken = 0;
  while (taken < limit && budget.allows()) {
    budget.recordRetry();
    taken++;
  }
  return taken;
}

describe("RetryBudget", () => {
  it("defaults to 20% over 10 s with a reserve of 3 retries per second", () => {
    expect(DEFAULT_RETRY_BUDGET).toEqual({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 3 });
  });

  it("lets a quiet listener retry up to the reserve", () => {
    const time = clock();
    const budget = new RetryBudget({}, time.now);
    expect(drain(budget)).toBe(30);
    expect(budget.allows()).toBe(false);
  });

  it("adds the ratio of requests in the window on top of the reserve", () => {
    const time = clock();
    const budget = new RetryBudget({ minRetriesPerSecond: 0 }, time.now);
    for (let i = 0; i < 1000; i++) budget.recordRequest();
    expect(drain(budget)).toBe(200);

    const withReserve = new RetryBudget({}, time.now);
    for (let i = 0; i < 1000; i++) withReserve.recordRequest();
    expect(drain(withReserve)).toBe(230);
  });

  it("forgets requests and retries once they leave the window", () => {
    const time = clock(5_000);
    const budget = new RetryBudget({ minRetriesPerSecond: 0, ratio: 0.5 }, time.now);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(drain(budget)).toBe(50);

    time.advance(5_000);
    // Still inside the window: the budget stays spent.
    expect(budget.allows()).toBe(false);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(drain(budget)).toBe(5);
    expect(budget.window).toEqual({ requests: 110, retries: 55 });

    time.advance(5_500);
    // The first second's requests and retries are gone, the later ones remain.
    expect(budget.window).toEqual({ requests: 10, retries: 5 });
    expect(budget.allows()).toBe(false);

    time.advance(60_000);
    expect(budget.window).toEqual({ requests: 0, retries: 0 });
  });

  it("keeps the reserve per second of window: a 1 s window allows 3", () => {
    const time = clock();
    const budget = new RetryBudget({ windowMs: 1_000 }, time.now);
    expect(drain(budget)).toBe(3);
    time.advance(1_100);
    expect(drain(budget)).toBe(3);
  });

  it("rejects invalid options with a coded error", () => {
    for (const options of [
      { ratio: -1 },
      { ratio: Number.NaN },
      { windowMs: 0 },
      { minRetriesPerSecond: -2 },
    ]) {
      expect(() => new RetryBudget(options)).toThrow(
        expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
      );
    }
  });
});

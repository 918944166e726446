import { describe, expect, it } from "vitest";
import { AttemptPolicy, checkMaxRetries, DEFAULT_MAX_RETRIES } from "./attempt-policy.js";

describe("AttemptPolicy", () => {
  it("retries what the failure allows: always, idempotent requests only, never", () => {
    const policy = new AttemptPolicy({ retryBudget: false });
    expect(policy.maxRetries).toBe(DEFAULT_MAX_RETRIES);
    expect(policy.allowsRetry(0, "always", false)).toBe(true);
    expect(policy.allowsRetry(0, "idempotent", true)).toBe(true);
    expect(policy.allowsRetry(0, "idempotent", false)).toBe(false);
    expect(policy.allowsRetry(0, "never", true)).toBe(false);
  });

  it("allows maxRetries retries per request, or the limit the caller passes (a route's)", () => {
    const policy = new AttemptPolicy({ maxRetries: 2, retryBudget: false });
    expect(policy.allowsRetry(1, "always", false)).toBe(true);
    expect(policy.allowsRetry(2, "always", false)).toBe(false);
    expect(policy.allowsRetry(2, "always", false, 5)).toBe(true);
    expect(policy.allowsRetry(0, "always", false, 0)).toBe(false);
  });

  it("holds retries to the budget, counting refusals and the retries sent", () => {
    let now = 0;
    const policy = new AttemptPolicy({
      maxRetries: 3,
      retryBudget: { ratio: 0.5, minRetriesPerSecond: 0, windowMs: 1_000 },
      now: () => now,
    });
    for (let i = 0; i < 4; i++) policy.requestStarted();
    // Half of four requests: two retries fit.
    for (let i = 0; i < 2; i++) {
      expect(policy.allowsRetry(0, "always", false)).toBe(true);
      policy.retried();
    }
    expect(policy.allowsRetry(0, "always", false)).toBe(false);
    expect(policy).toMatchObject({ retries: 2, budgetRefusals: 1 });
    // A refusal for another reason is not the budget's.
    expect(policy.allowsRetry(0, "never", true)).toBe(false);
    expect(policy.budgetRefusals).toBe(1);
    // Once the window has passed, the budget has room again (its reserve is 0, so requests are needed).
    now += 2_000;
    policy.requestStarted();
    policy.requestStarted();
    expect(policy.allowsRetry(0, "always", false)).toBe(true);
  });

  it("checks maxRetries", () => {
    expect(checkMaxRetries(0)).toBe(0);
    expect(() => new AttemptPolicy({ maxRetries: -1 })).toThrow(
      /maxRetries must be an integer from 0 to 100/,
    );
    expect(() => new AttemptPolicy({ maxRetries: 1.5 })).toThrow(/maxRetries/);
  });
});

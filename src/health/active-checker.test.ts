import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Balancer, createBalancer } from "../balancer/balancer.js";
import { ErrorCodes } from "../core/errors.js";
import type { HealthChangeEvent } from "./health-monitor.js";
import type { HealthCheckOptions } from "./health-options.js";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Probe {
  balancer: Balancer;
  /** Check calls, as `id@ms`. */
  calls: string[];
  events: HealthChangeEvent[];
  /** Which backends the custom check fails. */
  failing: Set<string>;
}

function setup(options: Partial<HealthCheckOptions> = {}, check?: HealthCheckOptions["check"]): Probe {
  const calls: string[] = [];
  const failing = new Set<string>();
  const started = Date.now();
  const balancer = createBalancer({
    backends: [
      { id: "a", address: "127.0.0.1:9001" },
      { id: "b", address: "127.0.0.1:9002" },
    ],
    now: () => Date.now() - started,
    random: () => 0.5,
    healthCheck: {
      intervalMs: 1_000,
      ...options,
      check:
        check ??
        (async (backend) => {
          calls.push(`${backend.id}@${Date.now() - started}`);
          return !failing.has(backend.id);
        }),
    },
  });
  const events: HealthChangeEvent[] = [];
  balancer.onHealthChange((event) => events.push(event));
  return { balancer, calls, events, failing };
}

describe("active checker", () => {
  it("checks every backend at start, then every interval", async () => {
    const { balancer, calls } = setup();
    balancer.start();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(calls).toEqual(["a@0", "b@0", "a@1000", "b@1000", "a@2000", "b@2000"]);
    await balancer.stop();
  });

  it("makes an unknown backend unhealthy on its first failed check, backs off, and applies rise", async () => {
    const { balancer, calls, events, failing } = setup({ rise: 2, fall: 3, maxIntervalMs: 4_000 });
    failing.add("a");
    balancer.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(balancer.pool.require("a").state).toBe("unhealthy");
    await vi.advanceTimersByTimeAsync(16_000);
    const times = calls.filter((call) => call.startsWith("a@")).map((call) => Number(call.slice(2)));
    expect(times).toEqual([0, 1_000, 2_000, 4_000, 8_000, 12_000, 16_000]);

    failing.delete("a");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(balancer.pool.require("a").state).toBe("healthy");
    expect(events.map((event) => `${event.backend.id}:${event.state}:${event.reason}`)).toEqual([
      "a:unknown:check-pending",
      "b:unknown:check-pending",
      "a:unhealthy:check-failed",
      "b:healthy:check-passed",
      "a:healthy:check-passed",
    ]);
    const after = calls.filter((call) => call.startsWith("a@")).map((call) => Number(call.slice(2)));
    // First pass at 20 s (the backed-off delay), then the base interval again.
    expect(after.slice(7, 9)).toEqual([20_000, 21_000]);
    await balancer.stop();
  });

  it("fails a check that outlives its timeout, even one ignoring its signal", async () => {
    const { balancer } = setup({ timeoutMs: 100, fall: 1 }, () => new Promise<boolean>(() => undefined));
    balancer.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(balancer.pool.require("a").state).toBe("unhealthy");
    expect(balancer.stats().backends[0]?.health).toMatchObject({
      lastResult: "fail",
      lastDetail: "timed out after 100 ms",
      lastLatencyMs: 100,
      lastCheckAt: 100,
    });
    await balancer.stop();
  });

  it("counts a rejected check as failed", async () => {
    const { balancer } = setup({ fall: 1 }, async () => {
      throw Object.assign(new Error("boom"), { code: "EBOOM" });
    });
    balancer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe("EBOOM");
  });

  it("checks backends added later, forgets removed ones, and stops cleanly", async () => {
    const { balancer, calls } = setup();
    balancer.start();
    await vi.advanceTimersByTimeAsync(500);
    balancer.pool.add({ id: "c", address: "127.0.0.1:9003" });
    await balancer.pool.remove("b");
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toEqual(["a@0", "b@0", "c@500", "a@1000"]);
    await balancer.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(4);
  });

  it("never overrides a draining backend", async () => {
    const { balancer, failing } = setup({ fall: 1 });
    balancer.pool.setState("a", "draining");
    failing.add("a");
    balancer.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(balancer.pool.require("a").state).toBe("draining");
    expect(balancer.stats().backends[0]?.health.probe).toBe("unhealthy");
    await balancer.stop();
  });

  it("keeps an ejected backend unhealthy while its checks pass", async () => {
    const { balancer } = setup({ fall: 1 });
    balancer.start();
    await vi.advanceTimersByTimeAsync(0);
    const a = balancer.pool.require("a");
    for (let i = 0; i < 5; i++) {
      a.inFlight++;
      balancer.close(a, { status: 502, latencyMs: 1 });
    }
    expect(a.state).toBe("unhealthy");
    await vi.advanceTimersByTimeAsync(3_000);
    expect(a.state).toBe("unhealthy");
    await vi.advanceTimersByTimeAsync(27_000);
    balancer.select({});
    expect(a.state).toBe("healthy");
    await balancer.stop();
  });

  it("rejects invalid options with a coded error naming the field", () => {
    expect(() => createBalancer({ healthCheck: { intervalMs: 0 } })).toThrowError(
      expect.objectContaining({
        code: ErrorCodes.INVALID_OPTIONS,
        message: expect.stringContaining("healthCheck.intervalMs"),
      }),
    );
    expect(() => createBalancer({ healthCheck: { type: "tcp", check: async () => true } })).toThrowError(
      /either a check function or a type/,
    );
    expect(() => createBalancer({ healthCheck: { type: "command" } })).toThrowError(/healthCheck\.command/);
    expect(() => createBalancer({ outlierDetection: { maxEjectedPercent: 120 } })).toThrowError(
      /outlierDetection\.maxEjectedPercent/,
    );
  });
});

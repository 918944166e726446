/**
 * What the simulator hands the balancer: each request's key in the header,
 * path, cookie and client IP (so hash algorithms keyed on any of them see it),
 * Zipf-skewed in hot-keys, and the simulation clock as `now`. A recording
 * algorithm registered for this file only (vitest isolates test files).
 */
import { describe, expect, it } from "vitest";
import { noOptions, registerAlgorithm } from "../algorithms/registry.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import type { Accept, Selector, SelectorEnv } from "../core/selector.js";
import { runScenario } from "./compare.js";

const seenKeys: string[] = [];
const mismatches: string[] = [];
const seenTimes: number[] = [];
const latencies: number[] = [];

class RecordingSelector implements Selector {
  readonly name = "lab-test-recorder";
  #backends: readonly Backend[] = [];
  #env: SelectorEnv;
  #next = 0;

  constructor(env: SelectorEnv) {
    this.#env = env;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
  }

  pick(ctx: RequestContext, accept: Accept): Backend | undefined {
    const key = ctx.headers?.["x-key"] as string;
    const n = Number(key.slice(1));
    const ip = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (ctx.path !== `/item/${key}` || ctx.cookies?.key !== key || ctx.clientIp !== ip) mismatches.push(key);
    seenKeys.push(key);
    seenTimes.push(this.#env.now());
    for (let step = 0; step < this.#backends.length; step++) {
      const backend = this.#backends[this.#next++ % this.#backends.length] as Backend;
      if (accept(backend)) return backend;
    }
    return undefined;
  }

  observe(_backend: Backend, outcome: Outcome): void {
    if (outcome.latencyMs !== undefined) latencies.push(outcome.latencyMs);
  }

  describe(): string {
    return "test";
  }
}

registerAlgorithm({
  name: "lab-test-recorder",
  summary: "records what the simulator passes",
  options: noOptions,
  create: (_options, env) => new RecordingSelector(env),
});

describe("simulated requests", () => {
  it("carry Zipf-skewed keys in header, path, cookie and client IP, on the simulation clock", () => {
    seenKeys.length = 0;
    seenTimes.length = 0;
    latencies.length = 0;
    const result = runScenario("hot-keys", "lab-test-recorder", { requests: 50_000, seed: 12 });
    expect(seenKeys).toHaveLength(50_000);
    expect(mismatches).toEqual([]);
    const counts = new Map<string, number>();
    for (const key of seenKeys) counts.set(key, (counts.get(key) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    // s = 1.1 over 10k keys: the hottest key is k0 with about 15% of requests.
    expect(ranked[0]?.[0]).toBe("k0");
    expect((ranked[0]?.[1] ?? 0) / 50_000).toBeGreaterThan(0.12);
    expect((ranked[0]?.[1] ?? 0) / 50_000).toBeLessThan(0.18);
    // The balancer's clock is simulated time: non-decreasing and spanning the run.
    expect(seenTimes.every((t, i) => i === 0 || t >= (seenTimes[i - 1] as number))).toBe(true);
    expect(seenTimes.at(-1)).toBeGreaterThan(result.durationMs * 0.95);
    // Outcomes carry simulated latencies (ms of service and queueing), not wall time.
    expect(latencies).toHaveLength(50_000);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0);
  });
});

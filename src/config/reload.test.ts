import { describe, expect, it } from "vitest";
import { parseConfig } from "./load.js";
import { applyReloadPlan, describePlan, diffConfig, effectiveConfig, isEmptyPlan } from "./reload.js";

function config(pool: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseConfig({
    listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "main" }],
    pools: { main: pool },
    ...extra,
  });
}

const base = {
  algorithm: "round-robin",
  backends: [
    { id: "a", address: "127.0.0.1:1001" },
    { id: "b", address: "127.0.0.1:1002", weight: 2 },
  ],
};

describe("diffConfig", () => {
  it("finds nothing between equal configs", () => {
    const plan = diffConfig(config(base), config(base));
    expect(isEmptyPlan(plan)).toBe(true);
    expect(describePlan(plan)).toBe("no in-place changes");
  });

  it("plans added, removed, re-weighted, enabled and disabled backends", () => {
    const running = config({
      ...base,
      backends: [...base.backends, { id: "c", address: "127.0.0.1:1003", enabled: false }],
    });
    const next = config({
      algorithm: "round-robin",
      backends: [
        { id: "a", address: "127.0.0.1:1001", enabled: false },
        { id: "b", address: "127.0.0.1:1002", weight: 5 },
        { id: "c", address: "127.0.0.1:1003" },
        { address: "127.0.0.1:1004" },
      ],
    });
    const plan = diffConfig(running, next);
    expect(plan.needsRestart).toEqual([]);
    expect(plan.pools).toHaveLength(1);
    const pool = plan.pools[0];
    expect(pool?.add.map((backend) => backend.address)).toEqual(["127.0.0.1:1004"]);
    expect(pool?.remove).toEqual([]);
    expect(pool?.weights).toEqual([{ id: "b", from: 2, to: 5 }]);
    expect(pool?.enable).toEqual(["c"]);
    expect(pool?.disable).toEqual(["a"]);
    expect(pool?.algorithm).toBeUndefined();
  });

  it("plans removals by id", () => {
    const plan = diffConfig(config(base), config({ ...base, backends: [base.backends[1]] }));
    expect(plan.pools[0]?.remove).toEqual(["a"]);
    expect(describePlan(plan)).toContain("removed (draining) a");
  });

  it("plans a discovery change in place, comparing parsed options (defaults filled)", () => {
    const dns = { dns: { srv: "_http._tcp.orders.internal" } };
    const withDns = config({ ...base, discovery: dns });
    expect(
      isEmptyPlan(
        diffConfig(withDns, config({ ...base, discovery: { dns: { ...dns.dns, retryMs: "5s" } } })),
      ),
    ).toBe(true);
    const toFile = diffConfig(withDns, config({ ...base, discovery: { file: { path: "backends.json" } } }));
    expect(toFile.needsRestart).toEqual([]);
    expect(describePlan(toFile)).toBe('pool "main": discovery → file backends.json');
    const off = diffConfig(withDns, config(base));
    expect(off.pools[0]?.discovery).toEqual({ to: undefined });
    expect(describePlan(off)).toBe('pool "main": discovery → off');
    expect(effectiveConfig(withDns, config(base)).pools.main).not.toHaveProperty("discovery");
  });

  it("compares normalized algorithm specs", () => {
    const same = diffConfig(config(base), config({ ...base, algorithm: { name: "round-robin" } }));
    expect(same.pools).toEqual([]);
    const changed = diffConfig(config(base), config({ ...base, algorithm: "least-connections" }));
    expect(changed.pools[0]?.algorithm).toBe("least-connections");
    expect(describePlan(changed)).toContain("algorithm → least-connections");
  });

  it("reports listener, pool and health-check changes as needing a restart", () => {
    const running = config(base);
    const next = parseConfig({
      listeners: [
        { name: "web", listen: "127.0.0.1:1", pool: "main" },
        { name: "other", listen: "127.0.0.1:0", pool: "extra" },
      ],
      pools: {
        main: { ...base, healthCheck: { path: "/health" } },
        extra: { backends: [{ address: "127.0.0.1:2000" }] },
      },
    });
    const plan = diffConfig(running, next);
    expect(plan.needsRestart).toEqual(
      expect.arrayContaining([
        'listener "web" changed',
        'listener "other" added',
        'pool "extra" added',
        'pool "main": healthCheck changed',
      ]),
    );
    expect(plan.pools).toEqual([]);
  });

  it("reports removed pools and changed backend addresses, still planning the rest", () => {
    const running = parseConfig({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "main" }],
      pools: { main: base, spare: { backends: [{ address: "127.0.0.1:3000" }] } },
    });
    const next = config({
      ...base,
      backends: [
        { id: "a", address: "127.0.0.1:1999" },
        { id: "b", address: "127.0.0.1:1002", weight: 3 },
      ],
    });
    const plan = diffConfig(running, next);
    expect(plan.needsRestart).toEqual(['pool "spare" removed', 'pool "main": backend "a" address changed']);
    expect(plan.pools[0]?.weights).toEqual([{ id: "b", from: 2, to: 3 }]);
    const effective = effectiveConfig(running, next);
    expect(effective.pools.main?.backends[0]?.address).toBe("127.0.0.1:1001");
    expect(effective.pools.main?.backends[1]?.weight).toBe(3);
    expect(Object.keys(effective.pools)).toEqual(["main", "spare"]);
  });
});

describe("diffConfig on listeners", () => {
  const listener = (extra: Record<string, unknown>) => ({
    listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "main", ...extra }],
  });
  const route = { name: "api", match: { pathPrefix: "/api" }, pool: "main" };

  it("plans route and rate-limit changes in place, and the rest of the listener as a restart", () => {
    const running = config(base, listener({ routes: [route] }));
    const next = config(
      base,
      listener({ routes: [{ ...route, stripPrefix: "/api" }], rateLimit: { rate: 5 }, maxRetries: 1 }),
    );
    const plan = diffConfig(running, next);
    expect(plan.listeners).toMatchObject([{ listener: "web", changed: ["routes", "rateLimit"] }]);
    expect(plan.needsRestart).toEqual(['listener "web" changed']);
    expect(describePlan(plan)).toBe('listener "web": routes and rateLimit changed');
    const effective = effectiveConfig(running, next, plan.listeners);
    expect(effective.listeners[0]?.routes?.[0]?.stripPrefix).toBe("/api");
    expect(effective.listeners[0]?.rateLimit?.rate).toBe(5);
    expect(effective.listeners[0]?.maxRetries).toBe(3);
    // Not applied (the runtime refused it): the running routes stay.
    expect(effectiveConfig(running, next).listeners[0]?.routes?.[0]?.stripPrefix).toBeUndefined();
  });

  it("moves an HTTP listener's default pool in place, but not to a pool that is not running, nor a TCP listener's", () => {
    const two = { main: base, spare: { backends: [{ address: "127.0.0.1:3000" }] } };
    const http = (pool: string) =>
      parseConfig({ listeners: [{ name: "web", listen: "127.0.0.1:0", pool }], pools: two });
    const moved = diffConfig(http("main"), http("spare"));
    expect(moved.listeners).toMatchObject([{ listener: "web", changed: ["pool"], pool: "spare" }]);
    expect(moved.needsRestart).toEqual([]);
    expect(effectiveConfig(http("main"), http("spare"), moved.listeners).listeners[0]?.pool).toBe("spare");

    const added = parseConfig({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "fresh" }],
      pools: { ...two, fresh: { backends: [{ address: "127.0.0.1:4000" }] } },
    });
    expect(diffConfig(http("main"), added).needsRestart).toContain(
      'listener "web": routes not applied: its default pool names pool "fresh", which is not running (a pool added by reload needs a restart)',
    );

    const tcp = (pool: string) =>
      parseConfig({ listeners: [{ name: "db", protocol: "tcp", listen: "127.0.0.1:0", pool }], pools: two });
    const tcpPlan = diffConfig(tcp("main"), tcp("spare"));
    expect(tcpPlan.listeners).toEqual([]);
    expect(tcpPlan.needsRestart).toEqual(['listener "db" changed']);
  });
});

describe("applyReloadPlan", () => {
  it("calls the pool and balancer and collects errors without stopping", async () => {
    const calls: string[] = [];
    const target = {
      pool: {
        add: (spec: { address: string }) => {
          if (spec.address.endsWith(":1004")) throw new Error("duplicate");
          calls.push(`add ${spec.address}`);
        },
        remove: async (id: string, options: { drain?: boolean }) =>
          calls.push(`remove ${id} ${options.drain}`),
        setWeight: (id: string, weight: number) => calls.push(`weight ${id} ${weight}`),
        enable: (id: string) => calls.push(`enable ${id}`),
        disable: (id: string) => calls.push(`disable ${id}`),
      },
      setAlgorithm: (spec: unknown) => calls.push(`algorithm ${String(spec)}`),
    };
    const next = config({
      algorithm: "p2c",
      backends: [
        { id: "b", address: "127.0.0.1:1002", weight: 4 },
        { address: "127.0.0.1:1003" },
        { address: "127.0.0.1:1004" },
      ],
    });
    const result = applyReloadPlan(new Map([["main", target]]), diffConfig(config(base), next));
    await result.drained;
    expect(calls).toEqual(["add 127.0.0.1:1003", "weight b 4", "algorithm p2c", "remove a true"]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toContain("duplicate");
  });
});

import { describe, expect, it } from "vitest";
import { applyEnvOverrides, ENV_OVERRIDES, parseConfig } from "./load.js";

const base = {
  listeners: [{ name: "web", listen: "0.0.0.0:9000", pool: "web" }],
  pools: {
    web: {
      algorithm: "round-robin",
      backends: [{ address: "10.0.0.1:8080", agent: { url: "http://10.0.0.1:8082" } }],
    },
  },
};

describe("SwarmGuard environment aliases", () => {
  it("WORKER_NODES, METRICS_PORT and TARGET_SERVICE make agent-polled backends; LB_PORT sets the port", () => {
    const config = parseConfig(
      applyEnvOverrides(
        {},
        {
          WORKER_NODES: "worker-1,worker-2:9000, worker-3",
          METRICS_PORT: "9100",
          TARGET_SERVICE: "web-stress",
          LB_PORT: "8081",
          LB_ALGORITHM: "metrics",
        },
      ),
    );
    expect(config.listeners[0]?.listen).toBe("127.0.0.1:8081");
    const pool = config.pools.main;
    expect(pool?.algorithm).toBe("metrics");
    expect(pool?.backends.map((backend) => [backend.address, backend.agent])).toEqual([
      ["worker-1:8080", { url: "http://worker-1:9100", match: "web-stress" }],
      ["worker-2:9000", { url: "http://worker-2:9100", match: "web-stress" }],
      ["worker-3:8080", { url: "http://worker-3:9100", match: "web-stress" }],
    ]);
  });

  it("SWITCHYARD_* variables win over their aliases", () => {
    const raw = applyEnvOverrides(base, {
      LB_PORT: "8081",
      SWITCHYARD_LISTEN: "127.0.0.1:7000",
      LB_ALGORITHM: "lease",
      SWITCHYARD_ALGORITHM: "hybrid",
      WORKER_NODES: "worker-1",
      SWITCHYARD_BACKENDS: "10.0.0.9:8000",
      DEBUG_ROUTING: "true",
      SWITCHYARD_LOG_LEVEL: "warn",
    });
    const config = parseConfig(raw);
    expect(config.listeners[0]?.listen).toBe("127.0.0.1:7000");
    expect(config.pools.web?.algorithm).toBe("hybrid");
    expect(config.pools.web?.backends.map((backend) => backend.address)).toEqual(["10.0.0.9:8000"]);
    expect(config.log.level).toBe("warn");
  });

  it("maps lease, weight, cache, fallback, health and debug variables to their fields", () => {
    const config = parseConfig(
      applyEnvOverrides(base, {
        LB_ALGORITHM: "hybrid",
        LEASE_DURATION: "45",
        LEASE_COUNT_WEIGHT: "5",
        CPU_WEIGHT: "0.6",
        MEMORY_WEIGHT: "0.3",
        NETWORK_WEIGHT: "0.1",
        CACHE_TTL: "1.5",
        FALLBACK_ENABLED: "false",
        HEALTH_CHECK_INTERVAL: "5",
        DEBUG_ROUTING: "1",
        LOG_EVERY_N_REQUESTS: "100",
        LB_PORT: "8081",
      }),
    );
    const pool = config.pools.web;
    expect(config.listeners[0]?.listen).toBe("0.0.0.0:8081");
    expect(pool?.algorithm).toEqual({
      name: "hybrid",
      leaseDurationMs: 45_000,
      leaseWeight: 5,
      weights: { cpu: 0.6, memory: 0.3, network: 0.1 },
    });
    expect(pool?.agents).toEqual({
      pollIntervalMs: 1000,
      timeoutMs: 500,
      cacheTtlMs: 1500,
      fallback: "none",
    });
    expect(pool?.healthCheck?.intervalMs).toBe(5000);
    expect(config.log.level).toBe("debug");
    expect(config.log.access).toEqual({ enabled: true, sample: 100 });
  });

  it("leaves algorithms that do not take an option alone", () => {
    const config = parseConfig(applyEnvOverrides(base, { LEASE_DURATION: "10", CPU_WEIGHT: "1" }));
    expect(config.pools.web?.algorithm).toBe("round-robin");
    const lease = parseConfig(
      applyEnvOverrides(base, { LB_ALGORITHM: "lease", CPU_WEIGHT: "1", LEASE_DURATION: "10" }),
    );
    expect(lease.pools.web?.algorithm).toEqual({ name: "lease", leaseDurationMs: 10_000 });
  });

  it("names the variable when a value is malformed", () => {
    expect(() => applyEnvOverrides(base, { LEASE_DURATION: "soon" })).toThrow(
      /LEASE_DURATION: expected a number of seconds greater than 0, got "soon"/,
    );
    expect(() => applyEnvOverrides(base, { FALLBACK_ENABLED: "maybe" })).toThrow(
      /FALLBACK_ENABLED: expected true or false/,
    );
    expect(() => applyEnvOverrides(base, { LB_PORT: "99999" })).toThrow(/LB_PORT/);
    expect(() => applyEnvOverrides(base, { CPU_WEIGHT: "-1" })).toThrow(/CPU_WEIGHT/);
    expect(() => applyEnvOverrides(base, { LOG_EVERY_N_REQUESTS: "0" })).toThrow(
      /LOG_EVERY_N_REQUESTS: expected a whole number from 1 to 1000000, got "0"/,
    );
  });

  it("documents every alias", () => {
    const names = ENV_OVERRIDES.map((entry) => entry.name);
    for (const name of [
      "WORKER_NODES",
      "LB_PORT",
      "TARGET_SERVICE",
      "LB_ALGORITHM",
      "LEASE_DURATION",
      "CACHE_TTL",
      "CPU_WEIGHT",
      "MEMORY_WEIGHT",
      "NETWORK_WEIGHT",
      "HEALTH_CHECK_INTERVAL",
      "FALLBACK_ENABLED",
      "DEBUG_ROUTING",
      "LOG_EVERY_N_REQUESTS",
    ]) {
      expect(names).toContain(name);
    }
    for (const entry of ENV_OVERRIDES) expect(entry.description).not.toMatch(/not supported|yet\b/);
  });
});

describe("agent config", () => {
  it("fills agents defaults and rejects bad agent settings with the field named", () => {
    const config = parseConfig({ ...base, pools: { web: { ...base.pools.web, agents: {} } } });
    expect(config.pools.web?.agents).toEqual({
      pollIntervalMs: 1000,
      timeoutMs: 500,
      cacheTtlMs: 2000,
      fallback: "round-robin",
    });
    const bad = () =>
      parseConfig({
        ...base,
        pools: {
          web: {
            agents: { fallback: "random" },
            backends: [{ address: "10.0.0.1:8080", agent: { url: "ftp://x", match: "/(/" } }],
          },
        },
      });
    expect(bad).toThrow(/pools\.web\.agents\.fallback: expected "round-robin" or "none"/);
    expect(bad).toThrow(/pools\.web\.backends\[0\]\.agent\.url: expected an agent URL/);
    expect(bad).toThrow(/pools\.web\.backends\[0\]\.agent\.match: expected a valid match/);
  });
});

import { describe, expect, it } from "vitest";
import { AgentReportError, parseAgentReport } from "./agent-report.js";
import { type AgentEntry, combine, compileMatch } from "./match.js";

describe("parseAgentReport", () => {
  it("reads Switchyard's agent report, with each entry's age from the timestamps", () => {
    const report = parseAgentReport({
      node: "worker-1",
      timestamp: 1000.5,
      containers: [
        {
          id: "abc",
          name: "web.1",
          cpu_percent: 45.2,
          memory_percent: 12.8,
          memory_bytes: 1,
          net_rx_bytes_per_sec: 100,
          net_tx_bytes_per_sec: 50,
          timestamp: 1000,
          labels: { tier: "web", bad: 1 },
        },
      ],
    });
    expect(report).toEqual({
      node: "worker-1",
      rejected: 0,
      entries: [
        {
          id: "abc",
          name: "web.1",
          service: undefined,
          labels: { tier: "web" },
          cpu: 45.2,
          memory: 12.8,
          network: 150,
          ageMs: 500,
        },
      ],
    });
  });

  it("reads SwarmGuard's report format (megabits per second, container_* names)", () => {
    const report = parseAgentReport({
      node: "worker-2",
      timestamp: 1734567890,
      containers: [
        {
          container_id: "abc123",
          container_name: "web-stress.1.xyz",
          service_name: "web-stress",
          cpu_percent: 45.2,
          memory_mb: 128.5,
          memory_percent: 12.8,
          network_rx_mbps: 1,
          network_tx_mbps: 2,
        },
      ],
    });
    expect(report.entries[0]).toMatchObject({
      id: "abc123",
      name: "web-stress.1.xyz",
      service: "web-stress",
      network: 375_000,
      ageMs: 0,
    });
  });

  it("drops malformed entries and rejects bodies that are not reports", () => {
    const report = parseAgentReport({
      containers: [
        { id: "a", cpu_percent: -1 },
        { id: "b" },
        "x",
        { cpu_percent: 1 },
        { id: "ok", cpu_percent: 1 },
      ],
    });
    expect(report.entries.map((entry) => entry.id)).toEqual(["ok"]);
    expect(report.rejected).toBe(4);
    expect(() => parseAgentReport([])).toThrow(AgentReportError);
    expect(() => parseAgentReport({ containers: "no" })).toThrow(/containers/);
    expect(() => parseAgentReport(null)).toThrow(AgentReportError);
  });
});

describe("matching entries to a backend", () => {
  const entry = (overrides: Partial<AgentEntry>): AgentEntry => ({
    id: "0123456789abcdef0123",
    name: "web-stress.1.xyz",
    service: undefined,
    labels: { tier: "web" },
    cpu: 10,
    memory: 20,
    network: 30,
    ageMs: 0,
    ...overrides,
  });

  it("matches names, ids, id prefixes, services, Swarm tasks, labels and regexes", () => {
    const e = entry({ service: "api" });
    expect(compileMatch("web-stress.1.xyz")(e)).toBe(true);
    expect(compileMatch("web-stress")(e)).toBe(true);
    expect(compileMatch("web")(e)).toBe(false);
    expect(compileMatch("0123456789ab")(e)).toBe(true);
    expect(compileMatch("0123")(e)).toBe(false);
    expect(compileMatch("api")(e)).toBe(true);
    expect(compileMatch("tier=web")(e)).toBe(true);
    expect(compileMatch("tier=db")(e)).toBe(false);
    expect(compileMatch("/STRESS\\.1/i")(e)).toBe(true);
    expect(compileMatch(undefined)(e)).toBe(true);
    expect(() => compileMatch("/(/")).toThrow();
  });

  it("averages several matching entries and keeps the oldest age", () => {
    expect(
      combine([entry({ cpu: 10, ageMs: 5 }), entry({ cpu: 30, memory: 40, network: 10, ageMs: 50 })]),
    ).toEqual({
      cpu: 20,
      memory: 30,
      network: 20,
      ageMs: 50,
    });
    expect(combine([])).toBeUndefined();
  });
});

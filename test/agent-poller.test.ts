/**
 * The agent poller against real HTTP agents: body limits, overlapping rounds,
 * SwarmGuard's report format, targets changed at runtime.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AgentPoller } from "../src/agent/poller.js";
import { Pool } from "../src/core/pool.js";
import { ResourceReportStore } from "../src/load/resource-reports.js";
import { startServer, type TestServer } from "./helpers/servers.js";

const servers: TestServer[] = [];
const pollers: AgentPoller[] = [];

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function agent(body: string, delayMs = 0): Promise<TestServer> {
  const server = await startServer((_req, res) => {
    const timer = setTimeout(
      () => res.writeHead(200, { "content-type": "application/json" }).end(body),
      delayMs,
    );
    res.on("close", () => clearTimeout(timer));
  });
  servers.push(server);
  return server;
}

function setup(
  targets: Record<string, { url: string; match?: string }>,
  options: { timeoutMs?: number; maxBodyBytes?: number } = {},
) {
  const pool = new Pool(Object.keys(targets).map((id, i) => ({ id, address: `127.0.0.1:${1000 + i}` })));
  const store = new ResourceReportStore();
  store.follow(pool);
  const poller = new AgentPoller({ pool, store, targets, ...options });
  pollers.push(poller);
  return { pool, store, poller };
}

describe("AgentPoller", () => {
  it("reads SwarmGuard's report and polls each agent once for all its backends", async () => {
    const server = await agent(
      JSON.stringify({
        node: "worker-1",
        timestamp: Math.floor(Date.now() / 1000),
        containers: [
          {
            container_id: "a1",
            container_name: "web-stress.1.x",
            service_name: "web-stress",
            cpu_percent: 45.2,
            memory_percent: 12.8,
            network_rx_mbps: 8,
            network_tx_mbps: 0,
          },
          {
            container_id: "b2",
            container_name: "web-stress.2.y",
            service_name: "web-stress",
            cpu_percent: 80,
            memory_percent: 20,
            network_rx_mbps: 0,
            network_tx_mbps: 0,
          },
          {
            container_id: "c3",
            container_name: "db.1.z",
            service_name: "db",
            cpu_percent: 5,
            memory_percent: 50,
            network_rx_mbps: 0,
            network_tx_mbps: 0,
          },
        ],
      }),
    );
    const { store, poller } = setup({
      one: { url: server.origin, match: "web-stress.1.x" },
      all: { url: `${server.address}`, match: "web-stress" },
      db: { url: `${server.origin}/`, match: "db" },
    });
    await poller.pollOnce();
    expect(server.requests).toBe(1);
    expect(store.read("one")).toMatchObject({ cpu: 45.2, memory: 12.8, network: 1_000_000 });
    expect(store.read("all")).toMatchObject({ cpu: 62.6, memory: 16.4 });
    expect(store.read("db")?.cpu).toBe(5);
    expect(poller.stats().agents).toMatchObject([
      {
        url: `${server.origin}/metrics/containers`,
        node: "worker-1",
        backends: ["one", "all", "db"],
        successes: 1,
      },
    ]);
  });

  it("refuses a report over the size limit", async () => {
    const server = await agent(JSON.stringify({ containers: [], padding: "x".repeat(10_000) }));
    const { poller } = setup({ web: { url: server.origin } }, { maxBodyBytes: 1000 });
    await poller.pollOnce();
    expect(poller.stats().agents[0]).toMatchObject({ errors: 1, lastError: "report larger than 1000 bytes" });
  });

  it("skips an agent whose previous query is still running instead of querying it twice", async () => {
    const server = await agent(JSON.stringify({ containers: [] }), 300);
    const { poller } = setup({ web: { url: server.origin } }, { timeoutMs: 1000 });
    await Promise.all([poller.pollOnce(), poller.pollOnce()]);
    expect(poller.stats().agents[0]).toMatchObject({ polls: 1, skipped: 1, successes: 1 });
    expect(server.requests).toBe(1);
  });

  it("follows targets set and removed at runtime", async () => {
    const server = await agent(JSON.stringify({ containers: [{ id: "x", name: "api", cpu_percent: 3 }] }));
    const { pool, store, poller } = setup({});
    pool.add({ id: "api", address: "127.0.0.1:2000" });
    poller.setTarget("api", { url: server.origin, match: "api" });
    await poller.pollOnce();
    expect(store.read("api")?.cpu).toBe(3);
    poller.setTarget("api", undefined);
    await poller.pollOnce();
    expect(server.requests).toBe(1);
    expect(poller.stats().agents).toEqual([]);
    expect(() => poller.setTarget("api", { url: "ftp://nope" })).toThrow(/invalid agent URL/);
  });
});

/**
 * Agent-driven routing end to end: fake agents (deterministic reports, or
 * down, slow, garbage) on real sockets, echo backends, and the runtime built
 * from a config, so the poller, the metrics store and the algorithms meet
 * exactly as in production. Every server uses a port chosen by the OS.
 */
import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentStats } from "../src/agent/poller.js";
import { parseConfig } from "../src/config/load.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import {
  closedPort,
  request,
  startEchoServer,
  startServer,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";

type Mode = "ok" | "slow" | "garbage" | "not-a-report" | "error";

interface FakeAgent {
  server: TestServer;
  url: string;
  /** Reported CPU percent per container name. */
  cpu: Record<string, number>;
  mode: Mode;
}

const servers: TestServer[] = [];
let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.close(0);
  runtime = undefined;
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function fakeAgent(cpu: Record<string, number>, mode: Mode = "ok"): Promise<FakeAgent> {
  const agent = { cpu, mode } as FakeAgent;
  const slowTimers = new Set<NodeJS.Timeout>();
  const answer = (res: http.ServerResponse) => {
    const now = Date.now() / 1000;
    const body = JSON.stringify({
      node: "fake",
      timestamp: now,
      containers: Object.entries(agent.cpu).map(([name, cpu]) => ({
        id: `id-${name}`,
        name,
        cpu_percent: cpu,
        memory_percent: 10,
        memory_bytes: 1,
        net_rx_bytes_per_sec: 0,
        net_tx_bytes_per_sec: 0,
        timestamp: now,
      })),
    });
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  };
  agent.server = await startServer((_req, res) => {
    switch (agent.mode) {
      case "ok":
        return answer(res);
      case "slow": {
        const timer = setTimeout(() => {
          slowTimers.delete(timer);
          if (!res.destroyed) answer(res);
        }, 2_000);
        slowTimers.add(timer);
        res.on("close", () => clearTimeout(timer));
        return;
      }
      case "garbage":
        return res.writeHead(200).end("<html>surely not json");
      case "not-a-report":
        return res.writeHead(200).end(JSON.stringify({ containers: "none" }));
      case "error":
        return res.writeHead(503).end("down for maintenance");
    }
  });
  agent.url = agent.server.origin;
  servers.push(agent.server);
  return agent;
}

async function echo(name: string): Promise<TestServer> {
  const server = await startEchoServer(name);
  servers.push(server);
  return server;
}

async function start(
  algorithm: unknown,
  backends: unknown[],
  agents: Record<string, unknown>,
): Promise<number> {
  runtime = await startSwitchyard(
    parseConfig({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
      pools: { web: { algorithm, agents, backends } },
    }),
  );
  return runtime.listeners[0]?.port as number;
}

function poller() {
  const agents = runtime?.agents.get("web");
  if (!agents) throw new Error("no agents for pool web");
  return agents.poller;
}

/** Sends `count` requests one after another; returns requests per backend name. */
async function send(port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const response = await request({ port, path: `/r${i}` });
    expect(response.status).toBe(200);
    const name = String(response.headers["x-backend"]);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const agentFor = (stats: AgentStats[], url: string) => {
  const found = stats.find((agent) => agent.url.startsWith(url));
  if (!found) throw new Error(`no stats for ${url}`);
  return found;
};

describe("agent-driven routing", () => {
  it("metrics sends most traffic to the idle backend, then falls back to round-robin when metrics go stale", async () => {
    const [idle, busy] = await Promise.all([echo("idle"), echo("busy")]);
    const idleAgent = await fakeAgent({ "web.idle": 5 });
    const busyAgent = await fakeAgent({ "web.busy": 90 });
    const port = await start(
      "metrics",
      [
        { id: "idle", address: idle.address, agent: { url: idleAgent.url, match: "web.idle" } },
        { id: "busy", address: busy.address, agent: { url: busyAgent.url, match: "web.busy" } },
      ],
      { pollIntervalMs: 100, timeoutMs: 300, cacheTtlMs: 400 },
    );
    await waitFor(() =>
      poller()
        .stats()
        .agents.every((agent) => agent.successes > 0),
    );

    const counts = await send(port, 40);
    expect(counts.idle ?? 0).toBeGreaterThanOrEqual(36);
    const fresh = poller().stats().cache;
    expect(fresh.fallbacks).toBe(0);
    expect(fresh.hitRate).toBe(1);
    expect(fresh.backends.idle).toMatchObject({ cpu: 5, memory: 10, fresh: true });

    // Both agents stop reporting usable figures: after the stale limit the pool rotates.
    idleAgent.mode = "error";
    busyAgent.mode = "error";
    const failingSince = Date.now();
    await waitFor(() => Date.now() - failingSince > 600);
    const stale = await send(port, 20);
    expect(stale).toEqual({ idle: 10, busy: 10 });
    const stats = poller().stats();
    expect(stats.cache.fallbacks).toBe(20);
    expect(stats.cache.hitRate).toBeLessThan(1);
    expect(stats.cache.backends.idle?.fresh).toBe(false);
    expect(agentFor(stats.agents, idleAgent.url)).toMatchObject({
      lastError: "answered HTTP 503",
      backends: ["idle"],
    });
    expect(agentFor(stats.agents, idleAgent.url).consecutiveErrors).toBeGreaterThan(0);

    // The agents recover: metrics routing resumes.
    idleAgent.mode = "ok";
    busyAgent.mode = "ok";
    await waitFor(() =>
      poller()
        .stats()
        .agents.every((agent) => agent.consecutiveErrors === 0),
    );
    const recovered = await send(port, 10);
    expect(recovered.idle ?? 0).toBeGreaterThanOrEqual(9);
  });

  it("an agent that is down, slow or answers garbage never breaks routing, and is reported", async () => {
    const names = ["down", "slow", "garbage", "report", "good"];
    const backends = await Promise.all(names.map((name) => echo(name)));
    const slow = await fakeAgent({ slow: 1 }, "slow");
    const garbage = await fakeAgent({ garbage: 1 }, "garbage");
    const notReport = await fakeAgent({ report: 1 }, "not-a-report");
    const good = await fakeAgent({ good: 40, other: 1 });
    const downUrl = `http://127.0.0.1:${await closedPort()}`;
    const urls = [downUrl, slow.url, garbage.url, notReport.url, good.url];
    const port = await start(
      "metrics",
      names.map((name, i) => ({
        id: name,
        address: backends[i]?.address,
        agent: { url: urls[i], match: name },
      })),
      { pollIntervalMs: 100, timeoutMs: 200, cacheTtlMs: 1000 },
    );
    await waitFor(
      () =>
        poller()
          .stats()
          .agents.every((agent) => agent.polls >= 2 && agent.successes + agent.errors >= 1),
      5000,
    );

    // Only "good" has figures; the others are scored as the pool mean, so every backend keeps serving.
    const counts = await send(port, 25);
    expect(Object.keys(counts).sort()).toEqual([...names].sort());

    const stats = poller().stats().agents;
    expect(agentFor(stats, downUrl)).toMatchObject({
      successes: 0,
      lastError: "connection refused",
      lastSuccessAt: null,
    });
    expect(agentFor(stats, slow.url)).toMatchObject({ successes: 0, lastError: "timed out after 200 ms" });
    expect(agentFor(stats, garbage.url)).toMatchObject({
      successes: 0,
      lastError: "answered a body that is not JSON",
    });
    expect(agentFor(stats, notReport.url).lastError).toMatch(
      /^not an agent report: expected a "containers" array/,
    );
    const goodStats = agentFor(stats, good.url);
    expect(goodStats).toMatchObject({ errors: 0, entries: 2, unmatched: [], node: "fake" });
    expect(goodStats.lastSuccessAt).toBeGreaterThan(0);
    expect(poller().stats().cache.backends.good).toMatchObject({ cpu: 40, fresh: true });
  });

  it("reports backends no agent entry matches", async () => {
    const backend = await echo("web");
    const agent = await fakeAgent({ "something-else": 1 });
    await start(
      "metrics",
      [{ id: "web", address: backend.address, agent: { url: agent.url, match: "web" } }],
      {
        pollIntervalMs: 100,
      },
    );
    await waitFor(() => (poller().stats().agents[0]?.successes ?? 0) > 0);
    expect(poller().stats().agents[0]?.unmatched).toEqual(["web"]);
  });

  it("hybrid balances in-flight work between a busy and an idle backend", async () => {
    const [idle, busy] = await Promise.all([echo("idle"), echo("busy")]);
    const agent = await fakeAgent({ idle: 10, busy: 60 });
    const port = await start(
      { name: "hybrid", leaseDurationMs: 60_000 },
      [
        { id: "idle", address: idle.address, agent: { url: agent.url, match: "idle" } },
        { id: "busy", address: busy.address, agent: { url: agent.url, match: "busy" } },
      ],
      { pollIntervalMs: 100, cacheTtlMs: 5000 },
    );
    await waitFor(() => (poller().stats().agents[0]?.successes ?? 0) > 0);
    // Scores 8 and 33: the idle backend takes the first three, then they alternate.
    const counts = await send(port, 40);
    expect(counts.idle).toBeGreaterThan(counts.busy ?? 0);
    expect(counts.busy ?? 0).toBeGreaterThanOrEqual(17);
    expect(poller().stats().agents[0]?.backends).toEqual(["idle", "busy"]);
  });

  it("switching a pool to a metrics algorithm at runtime reads that pool's agents", async () => {
    const [idle, busy] = await Promise.all([echo("idle"), echo("busy")]);
    const agent = await fakeAgent({ idle: 0, busy: 80 });
    const port = await start(
      "round-robin",
      [
        { id: "idle", address: idle.address, agent: { url: agent.url, match: "idle" } },
        { id: "busy", address: busy.address, agent: { url: agent.url, match: "busy" } },
      ],
      { pollIntervalMs: 100 },
    );
    await waitFor(() => (poller().stats().agents[0]?.successes ?? 0) > 0);
    expect(await send(port, 4)).toEqual({ idle: 2, busy: 2 });
    runtime?.balancers.get("web")?.setAlgorithm("resource-aware");
    const counts = await send(port, 10);
    expect(counts.idle).toBe(10);
  });
});

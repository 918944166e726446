/**
 * `GET /api/agents`: the admin API reports each pool's agent poller (per
 * agent polls, successes, errors, last success and error; the metrics
 * store's hit rate, fallbacks and latest figures), served by a real runtime
 * polling a fake agent and an agent that is down. Ports are chosen by the OS.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AdminServer } from "../src/admin/admin-server.js";
import { createBalancer } from "../src/balancer/balancer.js";
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

const servers: TestServer[] = [];
let runtime: Runtime | undefined;
let admin: AdminServer | undefined;

afterEach(async () => {
  await runtime?.close(0);
  runtime = undefined;
  await admin?.close(0);
  admin = undefined;
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** An agent's report on one container named `name`. */
function agentReport(name: string, cpu: number): string {
  const now = Date.now() / 1000;
  const entry = {
    id: `id-${name}`,
    name,
    cpu_percent: cpu,
    memory_percent: 20,
    memory_bytes: 1,
    net_rx_bytes_per_sec: 0,
    net_tx_bytes_per_sec: 0,
    timestamp: now,
  };
  return JSON.stringify({ node: "fake", timestamp: now, containers: [entry] });
}

async function fakeAgent(name: string, cpu: number): Promise<TestServer> {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(agentReport(name, cpu));
  });
  servers.push(server);
  return server;
}

interface AgentsBody {
  pools: Record<
    string,
    Record<string, unknown> & {
      agents: (Record<string, unknown> & { url: string })[];
      cache: (Record<string, unknown> & { lookups: number; backends: Record<string, unknown> }) | null;
    }
  >;
}

async function getJson(port: number, path: string): Promise<{ status: number; json: AgentsBody }> {
  const response = await request({ port, path });
  return { status: response.status, json: JSON.parse(response.text) as AgentsBody };
}

describe("GET /api/agents", () => {
  it("reports each pool's poller: per-agent successes and errors, cache hit rate and fallbacks", async () => {
    const [idle, busy, plain] = await Promise.all(
      ["idle", "busy", "plain"].map((name) => startEchoServer(name)),
    );
    servers.push(idle as TestServer, busy as TestServer, plain as TestServer);
    const agent = await fakeAgent("web.idle", 7);
    const downUrl = `http://127.0.0.1:${await closedPort()}`;
    runtime = await startSwitchyard(
      parseConfig({
        admin: { listen: "127.0.0.1:0" },
        listeners: [
          { name: "web", listen: "127.0.0.1:0", pool: "web" },
          { name: "plain", listen: "127.0.0.1:0", pool: "plain" },
        ],
        pools: {
          web: {
            algorithm: "metrics",
            agents: { pollIntervalMs: 100, timeoutMs: 300, cacheTtlMs: 1000 },
            backends: [
              { id: "idle", address: idle?.address, agent: { url: agent.origin, match: "web.idle" } },
              { id: "busy", address: busy?.address, agent: { url: downUrl, match: "web.busy" } },
            ],
          },
          plain: { algorithm: "round-robin", backends: [{ id: "plain", address: plain?.address }] },
        },
      }),
    );
    const poller = runtime.agents.get("web")?.poller;
    if (!poller || !runtime.admin) throw new Error("runtime without poller or admin");
    await waitFor(() => poller.stats().agents.every((stats) => stats.successes + stats.errors > 0));
    const webPort = runtime.listeners[0]?.port as number;
    for (let i = 0; i < 5; i++) expect((await request({ port: webPort, path: "/" })).status).toBe(200);

    const { status, json } = await getJson(runtime.admin.port, "/api/agents");
    expect(status).toBe(200);
    expect(Object.keys(json.pools).sort()).toEqual(["plain", "web"]);
    expect(json.pools.plain).toEqual({ algorithm: "round-robin", polling: false, agents: [], cache: null });

    const web = json.pools.web;
    if (!web) throw new Error("no web pool");
    expect(web).toMatchObject({ algorithm: "metrics", polling: true, pollIntervalMs: 100, timeoutMs: 300 });
    const good = web.agents.find((stats) => stats.url.startsWith(agent.origin));
    const down = web.agents.find((stats) => stats.url.startsWith(downUrl));
    expect(good).toMatchObject({ errors: 0, backends: ["idle"] });
    expect(good?.successes).toBeGreaterThan(0);
    expect(typeof good?.lastSuccessAt).toBe("number");
    expect(down?.successes).toBe(0);
    expect(down?.errors).toBeGreaterThan(0);
    expect(down?.consecutiveErrors).toBeGreaterThan(0);
    expect(typeof down?.lastError).toBe("string");
    // The idle backend has fresh figures (busy has none, scored as the mean): no fallback, half the reads fresh.
    expect(web.cache).toMatchObject({ ttlMs: 1000, fallback: "round-robin", fallbacks: 0, hitRate: 0.5 });
    expect(web.cache?.lookups).toBe(10);
    expect(web.cache?.backends.idle).toMatchObject({ cpu: 7, memory: 20, fresh: true });

    // The same figures on /metrics: hit rate = hits / lookups.
    const metrics = await (await fetch(`http://127.0.0.1:${runtime.admin.port}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_agent_cache_lookups_total\{pool="web"\} 10$/m);
    expect(metrics).toMatch(/^switchyard_agent_cache_hits_total\{pool="web"\} 5$/m);
    expect(metrics).toMatch(/^switchyard_agent_fallbacks_total\{pool="web"\} 0$/m);
    const downErrors =
      metrics.match(/^switchyard_agent_poll_errors_total\{pool="web",agent="([^"]+)"\} (\d+)$/gm) ?? [];
    expect(downErrors.some((line) => line.includes(downUrl) && !line.endsWith(" 0"))).toBe(true);

    const one = await getJson(runtime.admin.port, "/api/agents?pool=web");
    expect(Object.keys(one.json.pools)).toEqual(["web"]);
    expect((await getJson(runtime.admin.port, "/api/agents?pool=nope")).status).toBe(404);
  });

  it("uses an agent URL's credentials but never shows them: config, agents, metrics, live snapshot", async () => {
    const backend = await startEchoServer("web");
    servers.push(backend);
    const expected = `Basic ${Buffer.from("scraper:s3cret pass").toString("base64")}`;
    // An agent behind a proxy that wants the credentials.
    const guarded = await startServer((req, res) => {
      if (req.headers.authorization !== expected) res.writeHead(401).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(agentReport("web", 5));
    });
    servers.push(guarded);
    runtime = await startSwitchyard(
      parseConfig({
        admin: { listen: "127.0.0.1:0" },
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
        pools: {
          web: {
            algorithm: "metrics",
            agents: { pollIntervalMs: 100 },
            healthCheck: { type: "command", command: "true --password=hunter2", intervalMs: 60_000 },
            backends: [
              {
                id: "web",
                address: backend.address,
                agent: { url: `http://scraper:s3cret%20pass@${guarded.address}`, match: "web" },
              },
            ],
          },
        },
      }),
    );
    const poller = runtime.agents.get("web")?.poller;
    if (!poller || !runtime.admin) throw new Error("runtime without poller or admin");
    await waitFor(() => (poller.stats().agents[0]?.successes ?? 0) > 0);
    const port = runtime.admin.port;
    const read = async (path: string) => (await request({ port, path })).text;
    const answers = await Promise.all(
      ["/api/config", "/api/agents", "/metrics", "/metrics?format=json", "/api/snapshot"].map(read),
    );
    for (const text of answers) {
      expect(text).not.toContain("s3cret");
      expect(text).not.toContain("hunter2");
    }
    const [config, agents, metrics] = answers as [string, string, string];
    const pool = JSON.parse(config).pools.web;
    expect(pool.backends[0].agent.url).toBe(`http://scraper:***@${guarded.address}`);
    expect(pool.healthCheck.command).toBe("***");
    const polled = `${guarded.origin}/metrics/containers`;
    expect((JSON.parse(agents) as AgentsBody).pools.web?.agents).toMatchObject([
      { url: polled, errors: 0, backends: ["web"] },
    ]);
    expect(metrics).toContain(`switchyard_agent_polls_total{pool="web",agent="${polled}"}`);
  });

  it("reads polling: false for every pool when the host runs no pollers", async () => {
    const balancer = createBalancer({ backends: [{ id: "a", address: "127.0.0.1:1" }] });
    admin = new AdminServer({ balancers: new Map([["web", balancer]]), port: 0 });
    const { port } = await admin.listen();
    const { status, json } = await getJson(port, "/api/agents");
    expect(status).toBe(200);
    expect(json).toEqual({
      pools: { web: { algorithm: "round-robin", polling: false, agents: [], cache: null } },
    });
    await balancer.stop();
  });
});

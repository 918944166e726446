/**
 * Prequal through the HTTP proxy, end to end: demo backends on 127.0.0.1
 * answer its load probes over HTTP with their real requests in flight and
 * latency, and the proxy routes by them; backends without a probe endpoint
 * are balanced on what the proxy observes.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import type { PrequalSelector } from "../src/algorithms/prequal.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { Backend } from "../src/core/backend.js";
import type { ProbeMiss, ProbeReply } from "../src/core/probe.js";
import { DemoBackend } from "../src/demo/backend-server.js";
import { HttpProbes } from "../src/load/http-probes.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, startEchoServer, startServer } from "./helpers/servers.js";

const cleanups = useCleanups();

async function startDemo(name: string, delayMs: number): Promise<string> {
  const backend = new DemoBackend({ name, delayMs, concurrency: 2 });
  cleanups.push(() => backend.close());
  const { host, port } = await backend.listen();
  return `${host}:${port}`;
}

async function startProxy(addresses: string[]): Promise<{ balancer: Balancer; port: number }> {
  const balancer = createBalancer({
    backends: addresses.map((address, i) => ({ address, id: `b${i}` })),
    algorithm: { name: "prequal", probeTimeoutMs: 1000 },
  });
  const proxy = new HttpProxy({ balancer });
  const { port } = await proxy.listen();
  cleanups.push(() => balancer.stop());
  cleanups.push(() => proxy.close(200));
  return { balancer, port };
}

/** `total` GETs through the proxy, `concurrency` at a time; the backend name each got. */
async function load(port: number, total: number, concurrency: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  cleanups.push(async () => agent.destroy());
  const names: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const response = await request({ port, agent, path: "/work" });
      expect(response.status).toBe(200);
      const body = JSON.parse(response.text) as { backend?: string; name?: string };
      names.push(body.backend ?? body.name ?? "");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return names;
}

function probeFigures(balancer: Balancer) {
  return (balancer.algorithmMetrics() as ReturnType<PrequalSelector["figures"]>) ?? {};
}

describe("prequal through the proxy", () => {
  it("probes demo backends over HTTP and keeps load off the slow one", async () => {
    const addresses = [
      await startDemo("fast-1", 5),
      await startDemo("fast-2", 5),
      await startDemo("slow", 80),
    ];
    const { balancer, port } = await startProxy(addresses);
    const names = await load(port, 150, 6);
    const figures = probeFigures(balancer);
    expect(figures.probesSent).toBeGreaterThan(100);
    expect(figures.probesMissed).toBe(0);
    // Round-robin would give the slow backend a third (50); its probes say it is slow.
    const slowShare = names.filter((name) => name === "slow").length / names.length;
    expect(slowShare).toBeLessThan(0.15);
  });

  it("balances backends without a probe endpoint on what the proxy observes", async () => {
    const echoes = [await startEchoServer("e0"), await startEchoServer("e1")];
    for (const echo of echoes) cleanups.push(() => echo.close());
    const { balancer, port } = await startProxy(echoes.map((echo) => echo.address));
    const names = await load(port, 40, 4);
    expect(new Set(names)).toEqual(new Set(["e0", "e1"]));
    const figures = probeFigures(balancer);
    // Every probe sent was missed; after a backend's first miss it is answered
    // locally for fallbackMs, so only those already on the way went out (2 per request otherwise).
    expect(figures.probesMissed).toBe(figures.probesSent);
    expect(figures.probesSent).toBeGreaterThan(0);
    expect(figures.probesSent).toBeLessThan(40);
  });
});

describe("load probes over HTTP/1.1", () => {
  it("reads a reply, calls a non-reply unsupported, and one not answered within the timeout unanswered", async () => {
    const probes = new HttpProbes();
    cleanups.push(() => probes.close());
    const server = await startServer((req, res) => {
      if (req.url === "/prequal-probe") res.end(JSON.stringify({ rif: 2, latencyMs: 9 }));
      else if (req.url === "/health") res.end("ok");
      // Anything else is never answered.
    });
    cleanups.push(() => server.close());
    const backend = new Backend({ address: server.address });
    const probe = (path: string, timeoutMs = 1_000) =>
      new Promise<ProbeReply | ProbeMiss>((resolve) => probes.probe(backend, { path, timeoutMs }, resolve));
    expect(await probe("/prequal-probe")).toEqual({ rif: 2, latencyMs: 9 });
    expect(await probe("/health")).toBe("unsupported");
    const started = performance.now();
    expect(await probe("/silent", 50)).toBe("unanswered");
    expect(performance.now() - started).toBeLessThan(1_000);
    // The connection the timed-out probe gave up is replaced: the next probe is answered.
    expect(await probe("/prequal-probe")).toEqual({ rif: 2, latencyMs: 9 });
  });

  it("drops the pool of a backend whose connections all closed when another backend is probed", async () => {
    const probes = new HttpProbes();
    cleanups.push(() => probes.close());
    const answer = (_req: http.IncomingMessage, res: http.ServerResponse) =>
      res.end(JSON.stringify({ rif: 0, latencyMs: 1 }));
    const gone = await startServer(answer);
    const kept = await startServer(answer);
    const next = await startServer(answer);
    cleanups.push(
      () => kept.close(),
      () => next.close(),
    );
    const probe = (address: string) =>
      new Promise<ProbeReply | ProbeMiss>((resolve) =>
        probes.probe(new Backend({ address }), { path: "/prequal-probe", timeoutMs: 1_000 }, resolve),
      );
    expect(await probe(gone.address)).toEqual({ rif: 0, latencyMs: 1 });
    expect(await probe(kept.address)).toEqual({ rif: 0, latencyMs: 1 });
    expect(probes.pools).toBe(2);
    // The backend leaves: its kept-alive connection closes.
    await gone.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await probe(next.address)).toEqual({ rif: 0, latencyMs: 1 });
    // The departed backend's pool is gone; the one with a connection open is kept.
    expect(probes.pools).toBe(2);
    expect(await probe(kept.address)).toEqual({ rif: 0, latencyMs: 1 });
    expect(probes.pools).toBe(2);
  });
});

/**
 * HTTP health checks and prequal's load probes to pools with
 * `backendProtocol: h2`, against backends on 127.0.0.1 that speak HTTP/2
 * only (node:http2 servers without an HTTP/1 fallback): h2c with prior
 * knowledge to `http://` addresses, TLS with ALPN h2 and the pool's
 * `backendTls` to `https://` ones. A backend is marked healthy and goes down
 * when its /health answers 503; checks and probes ride one session per
 * backend, closed when checking stops; an HTTP/1.1 pool's checks still speak
 * HTTP/1.1; probes read the backend's figures and the proxy routes by them.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { describe, expect, it } from "vitest";
import type { PrequalSelector } from "../src/algorithms/prequal.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { Backend } from "../src/core/backend.js";
import { NOT_H2_MESSAGE } from "../src/core/http2-connect.js";
import type { ProbeMiss, ProbeReply } from "../src/core/probe.js";
import { loadUpstreamTls } from "../src/core/upstream-tls.js";
import { HttpProbes } from "../src/load/http-probes.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { makeCa, makeSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { closedPort, LOCALHOST, request, startServer, waitFor } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-h2-checks-");
const ca = makeCa(dir, "checks-ca");
const siteFiles = makeSigned(dir, ca, "backend", "backend", ["backend.test"]);
const site = { cert: readFileSync(siteFiles.cert), key: readFileSync(siteFiles.key) };
const cleanups = useCleanups();

interface H2Backend {
  address: string;
  /** What /health answers; 0: nothing. */
  health: { status: number };
  /** Each request's `:method :path`, `:authority` and user agent. */
  requests: { line: string; authority: string | undefined; userAgent: string | undefined }[];
  /** Sessions opened so far, and those still open. */
  sessions: { opened: number; open: number };
}

/**
 * An HTTP/2-only backend (h2c, or TLS with the site certificate): /health
 * answers `health.status`, /prequal-probe a probe reply, anything else 200.
 */
async function startH2Backend(tls = false): Promise<H2Backend> {
  const backend: H2Backend = {
    address: "",
    health: { status: 200 },
    requests: [],
    sessions: { opened: 0, open: 0 },
  };
  const server = tls
    ? http2.createSecureServer({ cert: site.cert, key: site.key, allowHTTP1: false })
    : http2.createServer();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("session", (session) => {
    backend.sessions.opened++;
    backend.sessions.open++;
    session.on("close", () => backend.sessions.open--);
  });
  server.on("stream", (stream, headers) => {
    const path = headers[":path"];
    backend.requests.push({
      line: `${headers[":method"]} ${path}`,
      authority: headers[":authority"],
      userAgent: headers["user-agent"],
    });
    if (path === "/health" && backend.health.status === 0) return; // hangs
    if (path === "/health") {
      // A HEAD answer has no body: node ends the stream with its head.
      stream.respond({ ":status": backend.health.status }, { endStream: headers[":method"] === "HEAD" });
      if (headers[":method"] !== "HEAD") stream.end(backend.health.status < 400 ? "all good" : "failing");
    } else if (path === "/prequal-probe") {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify({ rif: 3, latencyMs: 7 }));
    } else {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  backend.address = `${tls ? "https" : "http"}://${LOCALHOST}:${port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return backend;
}

function track(balancer: Balancer): Balancer {
  cleanups.push(() => balancer.stop());
  return balancer;
}

const FAST = { intervalMs: 50, maxIntervalMs: 200, timeoutMs: 1_000, jitter: 0, rise: 1, fall: 2 };
const TLS_SETTINGS = { ca: ca.cert, serverName: "backend.test" };

function stateOf(balancer: Balancer): string | undefined {
  return balancer.pool.backends[0]?.state;
}

function healthChecks(backend: H2Backend): number {
  return backend.requests.filter((seen) => seen.line === "GET /health").length;
}

describe("HTTP health checks to h2 pools", () => {
  it("checks an h2c-only backend over HTTP/2: healthy, down on 503, back on 200, one session throughout", async () => {
    const backend = await startH2Backend();
    const balancer = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        healthCheck: { ...FAST, path: "/health" },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "healthy" && healthChecks(backend) >= 3);

    backend.health.status = 503;
    await waitFor(() => stateOf(balancer) === "unhealthy");
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe("HTTP 503");
    backend.health.status = 200;
    await waitFor(() => stateOf(balancer) === "healthy");
    expect(backend.requests[0]).toEqual({
      line: "GET /health",
      authority: backend.address.slice("http://".length),
      userAgent: "switchyard-health-check",
    });
    expect(backend.sessions.opened).toBe(1);

    await balancer.stop();
    await waitFor(() => backend.sessions.open === 0);
  });

  it("drops the session after a check that timed out, and connects afresh for the next", async () => {
    const backend = await startH2Backend();
    const balancer = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        healthCheck: { ...FAST, path: "/health", timeoutMs: 100 },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "healthy");
    backend.health.status = 0;
    await waitFor(() => stateOf(balancer) === "unhealthy");
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe("timed out after 100 ms");
    backend.health.status = 200;
    await waitFor(() => stateOf(balancer) === "healthy");
    expect(backend.sessions.opened).toBeGreaterThanOrEqual(3);
    await waitFor(() => backend.sessions.open === 1);
  });

  it("sends the method, Host as :authority and the configured fields, drops fields HTTP/2 forbids, and matches the body", async () => {
    const backend = await startH2Backend();
    const balancer = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        healthCheck: {
          ...FAST,
          path: "/health",
          method: "HEAD",
          headers: { Host: "app.test", "Proxy-Connection": "keep-alive", "User-Agent": "probe/1" },
        },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "healthy");
    expect(backend.requests[0]).toEqual({
      line: "HEAD /health",
      authority: "app.test",
      userAgent: "probe/1",
    });
    await balancer.stop();

    const matching = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        healthCheck: { ...FAST, path: "/health", body: "all good" },
      }),
    );
    matching.start();
    await waitFor(() => stateOf(matching) === "healthy");
    const lacking = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        healthCheck: { ...FAST, path: "/health", body: "ready" },
      }),
    );
    lacking.start();
    await waitFor(() => stateOf(lacking) === "unhealthy");
    expect(lacking.stats().backends[0]?.health.lastDetail).toBe('HTTP 200, body lacks "ready"');
  });

  it("checks an https:// backend over TLS with ALPN h2 and the pool's backendTls, and fails one whose certificate it refuses", async () => {
    const backend = await startH2Backend(true);
    const balancer = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        backendTls: TLS_SETTINGS,
        healthCheck: { ...FAST, path: "/health" },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "healthy" && healthChecks(backend) >= 3);
    backend.health.status = 503;
    await waitFor(() => stateOf(balancer) === "unhealthy");
    expect(backend.sessions.opened).toBe(1);

    const wrongName = track(
      createBalancer({
        backends: [{ address: backend.address }],
        backendProtocol: "h2",
        backendTls: { ca: ca.cert, serverName: "other.test" },
        healthCheck: { ...FAST, path: "/health" },
      }),
    );
    wrongName.start();
    await waitFor(() => stateOf(wrongName) === "unhealthy");
    expect(wrongName.stats().backends[0]?.health.lastDetail).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("fails the check of an https:// backend that does not agree to h2", async () => {
    const { createServer } = await import("node:https");
    const server = createServer({ cert: site.cert, key: site.key, ALPNProtocols: [] }, (_req, res) =>
      res.end("ok"),
    );
    await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as net.AddressInfo;
    const balancer = track(
      createBalancer({
        backends: [{ address: `https://${LOCALHOST}:${port}` }],
        backendProtocol: "h2",
        backendTls: TLS_SETTINGS,
        healthCheck: { ...FAST, path: "/health" },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "unhealthy");
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe(NOT_H2_MESSAGE);
  });

  it("still speaks HTTP/1.1 for an http1 pool, which an h2c-only backend fails", async () => {
    const versions: string[] = [];
    const http1 = await startServer((req, res) => {
      versions.push(req.httpVersion);
      res.end("ok");
    });
    cleanups.push(() => http1.close());
    const balancer = track(
      createBalancer({
        backends: [{ address: http1.address }],
        healthCheck: { ...FAST, path: "/health" },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer) === "healthy");
    expect(versions[0]).toBe("1.1");

    const h2Only = await startH2Backend();
    const mismatched = track(
      createBalancer({ backends: [{ address: h2Only.address }], healthCheck: { ...FAST, path: "/health" } }),
    );
    mismatched.start();
    await waitFor(() => stateOf(mismatched) === "unhealthy");
    expect(healthChecks(h2Only)).toBe(0);
  });
});

function probeOnce(
  probes: HttpProbes,
  backend: Backend,
  path = "/prequal-probe",
): Promise<ProbeReply | ProbeMiss> {
  return new Promise((resolve) => probes.probe(backend, { path, timeoutMs: 1_000 }, resolve));
}

describe("load probes to h2 pools", () => {
  it("probes an h2c-only backend on one session: its figures, unsupported on 404 or a non-reply, unanswered on a closed port", async () => {
    const backend = await startH2Backend();
    const probes = new HttpProbes(undefined, "h2");
    cleanups.push(() => probes.close());
    const target = new Backend({ address: backend.address });
    const replies = await Promise.all(Array.from({ length: 4 }, () => probeOnce(probes, target)));
    expect(replies).toEqual(Array(4).fill({ rif: 3, latencyMs: 7 }));
    expect(await probeOnce(probes, target, "/health")).toBe("unsupported");
    expect(await probeOnce(probes, target, "/elsewhere")).toBe("unsupported");
    expect(backend.sessions.opened).toBe(1);
    const gone = new Backend({ address: `http://${LOCALHOST}:${await closedPort()}` });
    expect(await probeOnce(probes, gone)).toBe("unanswered");

    await probes.close();
    await waitFor(() => backend.sessions.open === 0);
  });

  it("probes an https:// backend over TLS with ALPN h2 and the pool's backendTls", async () => {
    const backend = await startH2Backend(true);
    const probes = new HttpProbes(loadUpstreamTls(TLS_SETTINGS), "h2");
    cleanups.push(() => probes.close());
    const target = new Backend({ address: backend.address });
    expect(await probeOnce(probes, target)).toEqual({ rif: 3, latencyMs: 7 });
    const refusing = new HttpProbes(loadUpstreamTls({ ca: ca.cert, serverName: "other.test" }), "h2");
    cleanups.push(() => refusing.close());
    expect(await probeOnce(refusing, target)).toBe("unanswered");
  });

  it("lets prequal in the proxy probe h2c-only backends and route to them", async () => {
    const backends = [await startH2Backend(), await startH2Backend()];
    const balancer = track(
      createBalancer({
        backends: backends.map((backend, i) => ({ address: backend.address, id: `b${i}` })),
        backendProtocol: "h2",
        algorithm: { name: "prequal", probeTimeoutMs: 1_000 },
      }),
    );
    const proxy = new HttpProxy({ balancer });
    const { port } = await proxy.listen();
    cleanups.push(() => proxy.close(200));
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(async () => agent.destroy());
    for (let i = 0; i < 20; i++) expect((await request({ port, agent, path: "/work" })).status).toBe(200);
    const figures = (balancer.algorithmMetrics() as ReturnType<PrequalSelector["figures"]>) ?? {};
    expect(figures.probesSent).toBeGreaterThan(0);
    expect(figures.probesMissed).toBe(0);
    const probed = backends.map((backend) =>
      backend.requests.filter((seen) => seen.line === "GET /prequal-probe"),
    );
    expect(probed.every((seen) => seen.length > 0)).toBe(true);
  });
});

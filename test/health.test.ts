/**
 * Health end to end: active checks against real servers on 127.0.0.1 (ports
 * chosen by the OS, short intervals): an HTTP backend whose /health turns 503
 * is marked unhealthy after `fall` checks and gets no traffic, then comes back
 * after `rise` passes; a TCP check on a closed port and a failing command check
 * mark their backends unhealthy; health changes are announced with reasons and
 * logged; the runtime runs checks from the config and stops them on close;
 * an ejected backend comes back when its ejection ends, with no traffic; a
 * backend is unknown, and takes traffic, until its first check ends; a
 * pool's circuit breaker settings from the config open a failing backend's circuit.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import type { HealthChangeEvent } from "../src/health/health-monitor.js";
import { startSwitchyard } from "../src/runtime.js";
import { useCleanups } from "./helpers/fixtures.js";
import { closedPort, LOCALHOST, request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

/** A backend whose /health answers `health.status`; every other path answers 200 "ok". */
async function healthBackend(): Promise<{ server: TestServer; health: { status: number; checks: number } }> {
  const health = { status: 200, checks: 0 };
  const server = await startServer((req, res) => {
    if (req.url === "/health") {
      health.checks++;
      res.writeHead(health.status, { "content-type": "text/plain" });
      res.end(health.status < 400 ? "all good" : "failing");
      return;
    }
    res.end("ok");
  });
  cleanups.push(() => server.close());
  return { server, health };
}

function track(balancer: Balancer): Balancer {
  cleanups.push(() => balancer.stop());
  return balancer;
}

function stateOf(balancer: Balancer, id: string): string | undefined {
  return balancer.pool.get(id)?.state;
}

function picks(balancer: Balancer, n: number): string[] {
  return Array.from({ length: n }, () => {
    const decision = balancer.select({});
    decision.finish({ status: 200, latencyMs: 1 });
    return decision.backend.id;
  });
}

const FAST = { intervalMs: 50, maxIntervalMs: 200, timeoutMs: 1_000, jitter: 0 };

describe("HTTP health checks", () => {
  it("marks a backend unhealthy after `fall` failed checks, routes around it, and readmits it after `rise`", async () => {
    const a = await healthBackend();
    const b = await healthBackend();
    const balancer = track(
      createBalancer({
        backends: [
          { id: "a", address: a.server.address },
          { id: "b", address: b.server.address },
        ],
        healthCheck: { ...FAST, rise: 2, fall: 3 },
      }),
    );
    const events: HealthChangeEvent[] = [];
    balancer.onHealthChange((event) => events.push(event));
    balancer.start();
    await waitFor(() => a.health.checks >= 2 && b.health.checks >= 2);
    expect(stateOf(balancer, "a")).toBe("healthy");

    a.health.status = 503;
    await waitFor(() => stateOf(balancer, "a") === "unhealthy");
    const failing = events.filter((event) => event.backend.id === "a");
    expect(failing.map((event) => [event.previous, event.state, event.reason])).toEqual([
      ["healthy", "unknown", "check-pending"],
      ["unknown", "healthy", "check-passed"],
      ["healthy", "degraded", "check-failed"],
      ["degraded", "unhealthy", "check-failed"],
    ]);
    expect(failing[3]?.detail).toMatch(/HTTP 503 \(3 in a row\)/);
    expect(new Set(picks(balancer, 10))).toEqual(new Set(["b"]));
    const health = balancer.stats().backends.find((backend) => backend.id === "a")?.health;
    expect(health).toMatchObject({ check: "http", probe: "unhealthy", lastResult: "fail", consecutiveOk: 0 });
    expect(health?.consecutiveFail).toBeGreaterThanOrEqual(3);
    expect(health?.lastDetail).toBe("HTTP 503");

    a.health.status = 200;
    await waitFor(() => stateOf(balancer, "a") === "healthy");
    expect(events.at(-1)).toMatchObject({ previous: "unhealthy", state: "healthy", reason: "check-passed" });
    expect(balancer.stats().backends.find((backend) => backend.id === "a")?.health.consecutiveOk).toBe(2);
    expect(new Set(picks(balancer, 10))).toEqual(new Set(["a", "b"]));
  });

  it("checks the configured path, method, statuses and body", async () => {
    const seen: string[] = [];
    const server = await startServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(req.url === "/ready" ? 204 : 404);
      res.end();
    });
    cleanups.push(() => server.close());
    const balancer = track(
      createBalancer({
        backends: [{ id: "a", address: server.address }],
        healthCheck: { ...FAST, path: "/ready", method: "HEAD", expectStatus: [204, "300-399"], fall: 1 },
      }),
    );
    balancer.start();
    await waitFor(() => (balancer.stats().backends[0]?.health.checks ?? 0) >= 2);
    expect(stateOf(balancer, "a")).toBe("healthy");
    expect(seen[0]).toBe("HEAD /ready");

    const bodyServer = await startServer((_req, res) => res.end('{"status":"starting"}'));
    cleanups.push(() => bodyServer.close());
    const strict = track(
      createBalancer({
        backends: [{ id: "b", address: bodyServer.address }],
        healthCheck: { ...FAST, body: '"status":"up"', fall: 1 },
      }),
    );
    strict.start();
    await waitFor(() => stateOf(strict, "b") === "unhealthy");
    expect(strict.stats().backends[0]?.health.lastDetail).toBe(
      'HTTP 200, body lacks "\\"status\\":\\"up\\""',
    );
  });

  it("sends the configured headers with every check, ours replaced by name whatever its case", async () => {
    const seen: { host?: string; agent?: string; token?: string }[] = [];
    const server = await startServer((req, res) => {
      seen.push({
        host: req.headers.host,
        agent: req.headers["user-agent"],
        token: String(req.headers["x-check-token"]),
      });
      res.writeHead(req.headers["x-check-token"] === "s3cret" ? 200 : 401);
      res.end();
    });
    cleanups.push(() => server.close());
    const config = parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web" }],
      pools: {
        web: {
          backends: [{ id: "a", address: server.address }],
          healthCheck: {
            ...FAST,
            fall: 1,
            headers: {
              Host: "app.internal",
              "User-Agent": "NovaCron-HealthCheck/1.0",
              "X-Check-Token": "s3cret",
            },
          },
        },
      },
    });
    const runtime = await startSwitchyard(config, { logger: pino({ level: "silent" }) });
    cleanups.push(() => runtime.close(100));
    const balancer = runtime.balancers.get("web") as Balancer;
    await waitFor(() => (balancer.stats().backends[0]?.health.checks ?? 0) >= 2);
    expect(stateOf(balancer, "a")).toBe("healthy");
    expect(seen[0]).toEqual({ host: "app.internal", agent: "NovaCron-HealthCheck/1.0", token: "s3cret" });
  });

  it("fails a check that takes longer than its timeout", async () => {
    const server = await startServer(() => {
      // Never answers.
    });
    cleanups.push(() => server.close());
    const balancer = track(
      createBalancer({
        backends: [{ id: "slow", address: server.address }],
        healthCheck: { ...FAST, timeoutMs: 50, fall: 2 },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer, "slow") === "unhealthy");
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe("timed out after 50 ms");
  });
});

describe("TCP and command checks", () => {
  it("marks a backend on a closed port unhealthy with a TCP check", async () => {
    const live = await healthBackend();
    const dead = await closedPort();
    const balancer = track(
      createBalancer({
        backends: [
          { id: "live", address: live.server.address },
          { id: "dead", address: `${LOCALHOST}:${dead}` },
        ],
        healthCheck: { ...FAST, type: "tcp", fall: 2 },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer, "dead") === "unhealthy");
    const stats = balancer.stats().backends;
    expect(stats.find((backend) => backend.id === "dead")?.health.lastDetail).toBe("ECONNREFUSED");
    expect(stats.find((backend) => backend.id === "live")?.health).toMatchObject({
      check: "tcp",
      lastResult: "ok",
    });
    expect(stateOf(balancer, "live")).toBe("healthy");
  });

  it("marks a backend unhealthy when its command exits non-zero, and passes the backend in the environment", async () => {
    const balancer = track(
      createBalancer({
        backends: [
          { id: "bad", address: `${LOCALHOST}:9` },
          { id: "good", address: `${LOCALHOST}:7` },
        ],
        healthCheck: {
          ...FAST,
          type: "command",
          command:
            'test "$SWITCHYARD_BACKEND_ID" = good && test "$SWITCHYARD_BACKEND_PORT" = 7 || { echo "not good: $SWITCHYARD_BACKEND_HOST" >&2; exit 1; }',
          fall: 2,
        },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer, "bad") === "unhealthy");
    const stats = balancer.stats().backends;
    expect(stats.find((backend) => backend.id === "bad")?.health.lastDetail).toBe(
      `exit 1: not good: ${LOCALHOST}`,
    );
    await waitFor(
      () => (balancer.stats().backends.find((backend) => backend.id === "good")?.health.checks ?? 0) >= 2,
    );
    expect(stateOf(balancer, "good")).toBe("healthy");
  });

  it("fails `sh -c 'exit 1'` and kills a command that outlives its timeout", async () => {
    const balancer = track(
      createBalancer({
        backends: [{ id: "a", address: `${LOCALHOST}:9` }],
        healthCheck: { ...FAST, type: "command", command: "sh -c 'exit 1'", fall: 2 },
      }),
    );
    balancer.start();
    await waitFor(() => stateOf(balancer, "a") === "unhealthy");
    expect(balancer.stats().backends[0]?.health.lastDetail).toBe("exit 1");

    const hung = track(
      createBalancer({
        backends: [{ id: "h", address: `${LOCALHOST}:9` }],
        healthCheck: { ...FAST, type: "command", command: "sleep 30", timeoutMs: 100, fall: 1 },
      }),
    );
    hung.start();
    await waitFor(() => stateOf(hung, "h") === "unhealthy");
    expect(hung.stats().backends[0]?.health.lastDetail).toBe("timed out after 100 ms");
  });

  it("runs a custom check function", async () => {
    let healthy = true;
    const balancer = track(
      createBalancer({
        backends: [{ id: "a", address: `${LOCALHOST}:9` }],
        healthCheck: { ...FAST, fall: 1, rise: 1, check: async () => healthy },
      }),
    );
    balancer.start();
    await waitFor(() => (balancer.stats().backends[0]?.health.checks ?? 0) >= 1);
    expect(stateOf(balancer, "a")).toBe("healthy");
    healthy = false;
    await waitFor(() => stateOf(balancer, "a") === "unhealthy");
    expect(balancer.stats().backends[0]?.health.check).toBe("custom");
  });
});

describe("health in the runtime", () => {
  it("runs the configured checks, logs health changes, and stops checking on close", async () => {
    const a = await healthBackend();
    const b = await healthBackend();
    const entries: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => entries.push(JSON.parse(line)) });
    const config = parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web" }],
      pools: {
        web: {
          backends: [
            { id: "a", address: a.server.address },
            { id: "b", address: b.server.address },
          ],
          healthCheck: { path: "/health", intervalMs: 50, maxIntervalMs: 100, fall: 2, rise: 1 },
          outlierDetection: false,
        },
      },
    });
    const runtime = await startSwitchyard(config, { logger });
    cleanups.push(() => runtime.close(100));
    const balancer = runtime.balancers.get("web") as Balancer;
    a.health.status = 500;
    await waitFor(() => stateOf(balancer, "a") === "unhealthy");
    const change = entries.find(
      (entry) => entry.msg === "backend health changed" && entry.state === "unhealthy",
    );
    expect(change).toMatchObject({ level: 40, pool: "web", backend: "a", reason: "check-failed" });

    await runtime.close(100);
    const checks = a.health.checks + b.health.checks;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(a.health.checks + b.health.checks).toBe(checks);
  });

  it("readmits an ejected backend when its ejection ends, with no traffic: /ready and /api/stats follow", async () => {
    const failing = await startServer((_req, res) => {
      res.writeHead(500);
      res.end("down");
    });
    cleanups.push(() => failing.close());
    const config = parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web" }],
      pools: {
        web: {
          backends: [{ id: "a", address: failing.address }],
          outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 200, maxEjectedPercent: 100 },
        },
      },
      admin: { listen: `${LOCALHOST}:0` },
    });
    const runtime = await startSwitchyard(config, { logger: pino({ level: "silent" }) });
    cleanups.push(() => runtime.close(100));
    const proxyPort = runtime.listeners[0]?.port as number;
    const adminPort = runtime.admin?.port as number;
    for (let i = 0; i < 2; i++) expect((await request({ port: proxyPort, path: "/" })).status).toBe(500);
    const ready = async () => (await request({ port: adminPort, path: "/ready" })).status;
    expect(await ready()).toBe(503);

    // No request reaches the proxy from here on: only the ejection's end can make the pool ready.
    const started = Date.now();
    let status = 503;
    while (status !== 200 && Date.now() - started < 3_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await ready();
    }
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_500);
    const stats = JSON.parse((await request({ port: adminPort, path: "/api/stats" })).text) as {
      pools: Record<string, { backends: { id: string; state: string; health: { ejected: boolean } }[] }>;
    };
    expect(stats.pools.web?.backends[0]).toMatchObject({
      id: "a",
      state: "healthy",
      health: { ejected: false },
    });
    expect(failing.requests).toBe(2);
  });

  it("shows a backend unknown until its first check ends, and routes to it meanwhile", async () => {
    let answerHealth: (() => void) | undefined;
    const server = await startServer((req, res) => {
      if (req.url === "/health") answerHealth = () => res.end("ok");
      else res.end("served");
    });
    cleanups.push(() => server.close());
    const config = parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web" }],
      pools: {
        web: {
          backends: [{ id: "a", address: server.address }],
          healthCheck: { path: "/health", intervalMs: 60_000, timeoutMs: 10_000 },
        },
      },
      admin: { listen: `${LOCALHOST}:0` },
    });
    const runtime = await startSwitchyard(config, { logger: pino({ level: "silent" }) });
    cleanups.push(() => runtime.close(100));
    const proxyPort = runtime.listeners[0]?.port as number;
    const adminPort = runtime.admin?.port as number;
    const backendState = async () => {
      const stats = JSON.parse((await request({ port: adminPort, path: "/api/stats" })).text) as {
        pools: Record<string, { backends: { state: string; ready: boolean }[] }>;
      };
      return stats.pools.web?.backends[0];
    };
    await waitFor(() => answerHealth !== undefined);
    expect(await backendState()).toMatchObject({ state: "unknown", ready: true });
    const metrics = (await request({ port: adminPort, path: "/metrics" })).text;
    expect(metrics).toContain('switchyard_backend_health{pool="web",backend="a",state="unknown"} 1');
    expect((await request({ port: adminPort, path: "/ready" })).status).toBe(200);
    expect((await request({ port: proxyPort, path: "/" })).text).toBe("served");

    answerHealth?.();
    const balancer = runtime.balancers.get("web") as Balancer;
    await waitFor(() => stateOf(balancer, "a") === "healthy");
    expect(await backendState()).toMatchObject({ state: "healthy", ready: true });
  });

  it("opens a backend's circuit with the pool's circuitBreaker settings from the config", async () => {
    const failing = await startServer((_req, res) => {
      res.writeHead(500);
      res.end("down");
    });
    const working = await startServer((_req, res) => res.end("ok"));
    cleanups.push(
      () => failing.close(),
      () => working.close(),
    );
    const config = parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web", maxRetries: 0 }],
      pools: {
        web: {
          backends: [
            { id: "failing", address: failing.address },
            { id: "working", address: working.address },
          ],
          outlierDetection: false,
          // The default needs 20 requests in the window: this pool opens after 4.
          circuitBreaker: { minRequests: 4, errorRate: 0.5, openMs: 60_000 },
        },
      },
    });
    const runtime = await startSwitchyard(config, { logger: pino({ level: "silent" }) });
    cleanups.push(() => runtime.close(100));
    const port = runtime.listeners[0]?.port as number;
    for (let i = 0; i < 20; i++) await request({ port, path: "/" });
    expect(failing.requests).toBe(4);
    expect(working.requests).toBe(16);
    const stats = (runtime.balancers.get("web") as Balancer).stats();
    expect(stats.breakerOpenings).toBe(1);
    expect(stats.backends.find((backend) => backend.id === "failing")?.circuit).toBe("open");
  });
});

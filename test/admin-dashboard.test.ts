/**
 * The admin listener's dashboard side over real sockets: the static files at
 * `/` (content types, caching, HEAD, 405, 503 before a build) and the
 * `/api/events` stream (snapshots with the dashboard's fields, shared by
 * clients, bounded in number, ended when the admin server closes).
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AdminServer, type AdminServerOptions } from "../src/admin/admin-server.js";
import { defaultDashboardDir } from "../src/admin/dashboard-files.js";
import { LIVE_DECISIONS, type LiveSnapshot } from "../src/admin/live-snapshot.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { useCleanups } from "./helpers/fixtures.js";
import { LOCALHOST, request, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-dashboard-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A directory laid out like a dashboard build. */
async function builtDashboard(): Promise<string> {
  const dir = await tempDir();
  await writeFile(join(dir, "index.html"), "<!doctype html><title>Switchyard</title>");
  await writeFile(join(dir, "app.js"), "console.log('app');");
  await writeFile(join(dir, "app.css"), "body{margin:0}");
  return dir;
}

function webBalancer(): Balancer {
  return createBalancer({
    backends: [
      { id: "a", address: "127.0.0.1:40001", weight: 2 },
      { id: "b", address: "127.0.0.1:40002" },
    ],
  });
}

async function startAdmin(
  options: Partial<AdminServerOptions> = {},
): Promise<{ admin: AdminServer; port: number }> {
  const admin = new AdminServer({
    balancers: new Map([["web", webBalancer()]]),
    token: "t",
    ...options,
    port: 0,
  });
  const { port } = await admin.listen();
  cleanups.push(() => admin.close());
  return { admin, port };
}

interface EventStream {
  response: http.IncomingMessage;
  /** Parsed `data:` payloads received so far. */
  messages: LiveSnapshot[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `/api/events` and parses its messages as they arrive. */
function openEvents(port: number): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOCALHOST, port, path: "/api/events", agent: false }, (response) => {
      const messages: LiveSnapshot[] = [];
      let buffer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split("\n")
            .filter((line) => line.startsWith("data: "))
            .map((line) => line.slice(6))
            .join("\n");
          if (data) messages.push(JSON.parse(data) as LiveSnapshot);
        }
      });
      const ended = new Promise<void>((done) => response.once("end", done));
      // Closing from this side aborts the response; that is expected, not a failure.
      response.on("error", () => {});
      resolve({ response, messages, ended, close: () => req.destroy() });
    });
    req.on("error", reject);
    cleanups.push(async () => {
      req.destroy();
    });
  });
}

describe("dashboard files", () => {
  it("serves index.html, app.js and app.css with their content types, revalidated by ETag", async () => {
    const { port } = await startAdmin({ dashboardDir: await builtDashboard() });
    const page = await request({ port, path: "/" });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.text).toContain("<title>Switchyard</title>");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    const script = await request({ port, path: "/app.js" });
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.text).toBe("console.log('app');");
    const style = await request({ port, path: "/app.css" });
    expect(style.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(style.headers["content-length"]).toBe("14");

    const etag = script.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await request({ port, path: "/app.js", headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const head = await request({ port, method: "HEAD", path: "/" });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(page.headers["content-length"]);
    expect(head.body.length).toBe(0);
  });

  it("answers only GET and HEAD, and only for its own files", async () => {
    const { port } = await startAdmin({ dashboardDir: await builtDashboard() });
    const post = await request({ port, method: "POST", path: "/", headers: { authorization: "Bearer t" } });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD, OPTIONS");
    for (const path of ["/index.html", "/app.js.map", "/../package.json", "/%2e%2e/package.json"]) {
      const missing = await request({ port, path });
      expect(missing.status, path).toBe(404);
      expect(JSON.parse(missing.text)).toMatchObject({ error: "SY_ERR_NOT_FOUND" });
    }
  });

  it("answers 503 with the command to run when the dashboard is not built", async () => {
    const { port } = await startAdmin({ dashboardDir: await tempDir() });
    for (const path of ["/", "/app.js", "/app.css"]) {
      const reply = await request({ port, path });
      expect(reply.status, path).toBe(503);
      expect(reply.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(reply.headers["x-switchyard-error"]).toBe("SY_ERR_DASHBOARD_NOT_BUILT");
      expect(JSON.parse(reply.text)).toEqual({
        error: "SY_ERR_DASHBOARD_NOT_BUILT",
        message: "dashboard not built: run npm run build",
      });
    }
    // The API itself is unaffected.
    expect((await request({ port, path: "/health" })).status).toBe(200);
  });

  it("looks for the build in dist/dashboard at the package root by default", () => {
    expect(defaultDashboardDir()).toBe(fileURLToPath(new URL("../dist/dashboard/", import.meta.url)));
  });
});

describe("GET /api/events", () => {
  it("pushes snapshots with what the dashboard draws", async () => {
    const balancer = webBalancer();
    for (let index = 0; index < 10; index++) {
      const decision = balancer.select({ method: "GET", path: "/" });
      balancer.report(decision, { status: index === 9 ? 503 : 200, latencyMs: 5 + index });
    }
    const { port } = await startAdmin({ balancers: new Map([["web", balancer]]), eventsIntervalMs: 50 });
    const stream = await openEvents(port);
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(stream.response.headers["cache-control"]).toBe("no-store");
    await waitFor(() => stream.messages.length >= 3, 5_000);

    const [snapshot] = stream.messages as [LiveSnapshot];
    expect(snapshot.time).toBeGreaterThan(0);
    expect(snapshot.algorithms).toEqual(
      expect.arrayContaining(["round-robin", "least-connections", "maglev"]),
    );
    expect(snapshot.loadTest).toBeNull();
    const web = snapshot.pools.web;
    expect(web).toBeDefined();
    if (!web) return;
    expect(web.algorithm).toBe("round-robin");
    expect(Object.keys(web.requestsPerSecond ?? {})).toEqual(["1s", "10s", "60s"]);
    expect(web.latencyMs).toMatchObject({ count: 10 });
    expect(web.latencyMs?.p99).toBeGreaterThanOrEqual(web.latencyMs?.p50 ?? Number.POSITIVE_INFINITY);
    expect(web.backends.map((backend) => backend.id)).toEqual(["a", "b"]);
    expect(web.backends[0]).toMatchObject({
      weight: 2,
      enabled: true,
      state: "healthy",
      circuit: "closed",
      inFlight: 0,
    });
    expect(web.backends.reduce((sum, backend) => sum + backend.requests, 0)).toBe(10);
    expect(web.backends.reduce((sum, backend) => sum + backend.errors, 0)).toBe(1);
    // The latest few, newest first.
    expect(web.recentDecisions).toHaveLength(LIVE_DECISIONS);
    expect(web.recentDecisions.map((decision) => decision.seq)).toEqual([10, 9, 8, 7, 6, 5]);
    expect(web.recentDecisions[0]).toMatchObject({ algorithm: "round-robin", backend: expect.any(String) });
    expect(web.recentDecisions[0]?.reason).not.toBe("");
    // Snapshots keep coming, each newer than the last.
    const times = stream.messages.map((message) => message.time);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });

  it("carries what the algorithm reports about itself, null when it reports nothing", async () => {
    const balancer = createBalancer({
      backends: [{ id: "a", address: "127.0.0.1:40001" }],
      algorithm: "alpha1",
    });
    const { port } = await startAdmin({ balancers: new Map([["web", balancer]]), eventsIntervalMs: 50 });
    const stream = await openEvents(port);
    await waitFor(() => stream.messages.length >= 1, 5_000);
    expect(stream.messages[0]?.pools.web?.algorithmMetrics).toMatchObject({
      beta: expect.any(Number),
      gamma: expect.any(Number),
      hedge: { rate: 0 },
    });
    balancer.setAlgorithm("round-robin");
    await waitFor(() => stream.messages.at(-1)?.pools.web?.algorithm === "round-robin", 5_000);
    expect(stream.messages.at(-1)?.pools.web?.algorithmMetrics).toBeNull();
  });

  it("sends every client the same snapshot each tick, and follows changes", async () => {
    const balancer = webBalancer();
    const { port } = await startAdmin({ balancers: new Map([["web", balancer]]), eventsIntervalMs: 50 });
    const first = await openEvents(port);
    const second = await openEvents(port);
    await waitFor(() => first.messages.length >= 3 && second.messages.length >= 3, 5_000);
    const shared = second.messages.filter((message) =>
      first.messages.some((seen) => seen.time === message.time),
    );
    expect(shared.length).toBeGreaterThanOrEqual(2);

    balancer.setAlgorithm("least-connections");
    balancer.pool.disable("b");
    await waitFor(() => first.messages.at(-1)?.pools.web?.algorithm === "least-connections", 5_000);
    expect(first.messages.at(-1)?.pools.web?.backends[1]).toMatchObject({ id: "b", enabled: false });
  });

  it("refuses streams past the limit with 503", async () => {
    const { port } = await startAdmin({ maxEventStreams: 1 });
    const open = await openEvents(port);
    await waitFor(() => open.messages.length >= 1, 5_000);
    const refused = await request({ port, path: "/api/events" });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({ error: "SY_ERR_TOO_MANY_STREAMS" });
    expect(refused.headers["retry-after"]).toBeDefined();
    // A client that leaves frees its place (once the server has seen it go).
    open.close();
    let status = 503;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const retry = await openEvents(port);
      status = retry.response.statusCode ?? 0;
      retry.close();
    }
    expect(status).toBe(200);
  });

  it("ends open streams when the admin server closes, without waiting for the grace period", async () => {
    const { admin, port } = await startAdmin({ eventsIntervalMs: 50 });
    const stream = await openEvents(port);
    await waitFor(() => stream.messages.length >= 1, 5_000);
    const started = Date.now();
    await admin.close(10_000);
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers HEAD with the stream's headers and no body", async () => {
    const { port } = await startAdmin();
    const head = await request({ port, method: "HEAD", path: "/api/events" });
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(head.body.length).toBe(0);
  });
});

describe("GET /api/history", () => {
  it("keeps the charts' figures from the start, with no page open, for one pool or all", async () => {
    const balancer = webBalancer();
    const { port } = await startAdmin({ balancers: new Map([["web", balancer]]), historyIntervalMs: 50 });
    for (let index = 0; index < 10; index++) {
      const decision = balancer.select({ method: "GET", path: "/" });
      balancer.report(decision, { status: 200, latencyMs: 8 });
    }
    interface History {
      intervalMs: number;
      seconds: number;
      pools: Record<string, { time: number[]; rps1s: unknown[]; p50: (number | null)[] }>;
    }
    const read = async (path: string) => {
      const response = await request({ port, path });
      return { status: response.status, json: JSON.parse(response.text) as History };
    };
    let history = (await read("/api/history")).json;
    for (let tries = 0; tries < 100 && (history.pools.web?.time.length ?? 0) < 4; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      history = (await read("/api/history")).json;
    }
    expect(history).toMatchObject({ intervalMs: 50, seconds: 300 });
    const web = history.pools.web;
    expect(web?.rps1s).toHaveLength(web?.time.length ?? -1);
    const times = web?.time ?? [];
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(web?.p50.at(-1)).toBeCloseTo(8, 0);

    expect(Object.keys((await read("/api/history?pool=web")).json.pools)).toEqual(["web"]);
    const unknown = await read("/api/history?pool=nope");
    expect(unknown.status).toBe(404);
  });
});

/**
 * Observability end to end: real backends, a real HttpProxy and a real
 * AdminServer on 127.0.0.1 (ports chosen by the OS). `/metrics` must parse as
 * Prometheus text and agree with the traffic sent; `/api/stats` carries the
 * same figures as JSON with p50/p95/p99; `/api/explain` returns recent
 * decisions with candidates and scores; the runtime wires it all from the
 * config (decision sampling, listeners' counters, process metrics).
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { AdminServer } from "../src/admin/admin-server.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { AccessLog } from "../src/observability/access-log.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { parseExposition, readHistogram } from "./helpers/exposition.js";
import { useCleanups } from "./helpers/fixtures.js";
import {
  closedPort,
  request,
  startEchoServer,
  startServer,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";

const cleanups = useCleanups();

async function echo(name: string): Promise<TestServer> {
  const server = await startEchoServer(name);
  cleanups.push(() => server.close());
  return server;
}

/** Parsed admin JSON; tests read deep into it and let the assertions check the shape. */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON under test
type Json = any;

interface Lab {
  balancer: Balancer;
  proxy: HttpProxy;
  proxyPort: number;
  adminPort: number;
  get(path: string): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: Json }>;
}

async function startLab(
  backends: { id: string; address: string }[],
  extra?: Map<string, Balancer>,
  proxyOptions: Partial<HttpProxyOptions> = {},
) {
  const balancer = createBalancer({ backends, algorithm: "least-connections" });
  const proxy = new HttpProxy({ balancer, name: "web", ...proxyOptions });
  const { port: proxyPort } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  const balancers = new Map<string, Balancer>([["web", balancer], ...(extra ?? [])]);
  const admin = new AdminServer({
    balancers,
    port: 0,
    listeners: () => [{ name: "web", pool: "web", protocol: "http", stats: () => proxy.stats() }],
  });
  const { port: adminPort } = await admin.listen();
  cleanups.push(() => admin.close());
  const lab: Lab = {
    balancer,
    proxy,
    proxyPort,
    adminPort,
    async get(path) {
      const response = await request({ port: adminPort, path });
      const type = String(response.headers["content-type"] ?? "");
      return {
        status: response.status,
        headers: response.headers,
        text: response.text,
        json: type.startsWith("application/json") ? JSON.parse(response.text) : undefined,
      };
    },
  };
  return lab;
}

/** Sends `count` GETs one after another; returns responses per backend name. */
async function traffic(port: number, count: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  for (let index = 0; index < count; index++) {
    const response = await request({ port, path: `/item/${index}` });
    expect(response.status).toBe(200);
    const name = String(response.headers["x-backend"]);
    served[name] = (served[name] ?? 0) + 1;
  }
  return served;
}

describe("GET /metrics", () => {
  it("serves Prometheus text that agrees with the traffic sent", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const dead = await closedPort();
    const lab = await startLab([
      { id: "a", address: a.address },
      { id: "b", address: b.address },
      { id: "dead", address: `127.0.0.1:${dead}` },
    ]);
    const served = await traffic(lab.proxyPort, 30);

    const reply = await lab.get("/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const metrics = parseExposition(reply.text);

    for (const name of [
      "requests_total",
      "errors_total",
      "retries_total",
      "failovers_total",
      "hedges_total",
      "ejections_total",
      "decisions_total",
    ]) {
      expect(metrics.types.get(`switchyard_${name}`)).toBe("counter");
    }
    for (const name of ["in_flight", "active_connections", "breaker_state", "backend_health", "load_cv"]) {
      expect(metrics.types.get(`switchyard_${name}`)).toBe("gauge");
    }
    expect(metrics.types.get("switchyard_response_latency_seconds")).toBe("summary");
    expect(metrics.types.get("switchyard_decision_latency_seconds")).toBe("summary");

    const web = { pool: "web" };
    expect(metrics.value("switchyard_decisions_total", web)).toBe(30);
    for (const id of ["a", "b"]) {
      const labels = { pool: "web", backend: id };
      expect(metrics.value("switchyard_requests_total", { ...labels, status_class: "2xx" })).toBe(served[id]);
      expect(metrics.value("switchyard_response_latency_seconds_count", labels)).toBe(served[id]);
      const histogram = readHistogram(metrics, "switchyard_response_duration_seconds", labels);
      expect(histogram.count).toBe(served[id]);
      // Local echo answers are quick: all of them under 1 s, their sum well above zero.
      expect(histogram.buckets.find(([le]) => le === 1)?.[1]).toBe(served[id]);
      expect(histogram.sum).toBeGreaterThan(0);
      const [p50, p95, p99] = ["0.5", "0.95", "0.99"].map(
        (quantile) => metrics.value("switchyard_response_latency_seconds", { ...labels, quantile }) as number,
      );
      expect(p50).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(p95 as number);
      expect(p95).toBeLessThanOrEqual(p99 as number);
      expect(p99).toBeLessThan(1);
      expect(metrics.value("switchyard_in_flight", labels)).toBe(0);
      expect(metrics.value("switchyard_backend_health", { ...labels, state: "healthy" })).toBe(1);
      expect(metrics.value("switchyard_backend_health", { ...labels, state: "unhealthy" })).toBe(0);
      expect(metrics.value("switchyard_breaker_state", labels)).toBe(0);
    }
    // The dead backend refused its connections; each refusal moved the request on.
    const dead_ = { pool: "web", backend: "dead" };
    const refused = metrics.value("switchyard_requests_total", { ...dead_, status_class: "error" }) as number;
    expect(refused).toBeGreaterThan(0);
    expect(metrics.value("switchyard_errors_total", dead_)).toBe(refused);
    expect(metrics.value("switchyard_failovers_total", web)).toBe(refused);
    expect(metrics.value("switchyard_retries_total", { listener: "web", pool: "web" })).toBe(refused);
    // Each failover cost its request the refused connection: a time above zero, averaged per failover.
    const failoverSeconds = metrics.value("switchyard_failover_seconds_total", web) as number;
    expect(failoverSeconds).toBeGreaterThan(0);
    expect(metrics.value("switchyard_failover_mean_seconds", web)).toBeCloseTo(failoverSeconds / refused, 6);
    const passing = ["healthy", "degraded"].flatMap((state) =>
      metrics.all("switchyard_backend_health", { ...web, state }).filter((sample) => sample.value === 1),
    );
    expect(metrics.value("switchyard_pool_healthy_backends", web)).toBe(passing.length);
    expect(passing.length).toBeGreaterThanOrEqual(2);
    expect(metrics.value("switchyard_pool_backends", web)).toBe(3);
    expect(
      metrics.value("switchyard_listener_responses_total", { listener: "web", status_class: "2xx" }),
    ).toBe(30);

    expect(readHistogram(metrics, "switchyard_pool_response_duration_seconds", web).count).toBe(30);
    const decisionP50 = metrics.value("switchyard_decision_latency_seconds", { ...web, quantile: "0.5" });
    const decisionP99 = metrics.value("switchyard_decision_latency_seconds", { ...web, quantile: "0.99" });
    expect(decisionP50).toBeGreaterThanOrEqual(0);
    expect(decisionP50).toBeLessThanOrEqual(decisionP99 as number);
    expect(decisionP99).toBeLessThan(0.01);
    expect(metrics.value("switchyard_decision_latency_seconds_count", web)).toBe(30);
    // Rates come from the counters (rate() in PromQL), not from a per-second gauge.
    expect(metrics.types.has("switchyard_requests_per_second")).toBe(false);
    expect(metrics.value("switchyard_load_cv", web)).toBeGreaterThanOrEqual(0);
    // Process metrics are opt-in (the runtime turns them on).
    expect(metrics.types.has("process_cpu_user_seconds_total")).toBe(false);

    const head = await request({ port: lab.adminPort, method: "HEAD", path: "/metrics" });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("still parses with a balancer that records nothing", async () => {
    const a = await echo("a");
    const quiet = createBalancer({ backends: [{ id: "q", address: a.address }], metrics: false });
    const lab = await startLab([{ id: "a", address: a.address }], new Map([["quiet", quiet]]));
    quiet.select({}).finish({ status: 200, latencyMs: 1 });
    const metrics = parseExposition((await lab.get("/metrics")).text);
    expect(metrics.value("switchyard_decisions_total", { pool: "quiet" })).toBe(1);
    expect(metrics.value("switchyard_in_flight", { pool: "quiet", backend: "q" })).toBe(0);
    expect(metrics.all("switchyard_requests_total", { pool: "quiet" })).toEqual([]);
    expect(metrics.all("switchyard_decision_latency_seconds", { pool: "quiet" })).toEqual([]);
  });
});

describe("GET /api/stats and /api/explain", () => {
  it("returns the same figures as JSON, with p50/p95/p99, and the listeners' counters", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const lab = await startLab([
      { id: "a", address: a.address },
      { id: "b", address: b.address },
    ]);
    const served = await traffic(lab.proxyPort, 20);
    const reply = await lab.get("/api/stats");
    expect(reply.status).toBe(200);
    const web = reply.json.pools.web;
    // What the admin API always returned is still there.
    expect(web).toMatchObject({ algorithm: "least-connections", decisions: 20, requests: 20, errors: 0 });
    expect(web.latencyMs.count).toBe(20);
    expect(web.latencyMs.p50).toBeGreaterThan(0);
    expect(web.latencyMs.p50).toBeLessThanOrEqual(web.latencyMs.p95);
    expect(web.latencyMs.p95).toBeLessThanOrEqual(web.latencyMs.p99);
    expect(web.decisionNs.count).toBe(20);
    expect(Object.keys(web.requestsPerSecond)).toEqual(["1s", "10s", "60s"]);
    expect(web.loadCv).toEqual({ requests: expect.any(Number), inFlight: 0 });
    expect(web.explain).toMatchObject({ sample: 1, capacity: 100, kept: 20 });
    for (const backend of web.backends) {
      expect(backend).toMatchObject({ address: expect.any(String), ewmaLatencyMs: expect.any(Number) });
      expect(backend.statusClasses["2xx"]).toBe(served[backend.id]);
      expect(backend.latencyMs.count).toBe(served[backend.id]);
      expect(backend.latencyMs.p50).toBeLessThanOrEqual(backend.latencyMs.p99);
    }
    expect(reply.json.listeners.web).toMatchObject({
      pool: "web",
      protocol: "http",
      requests: 20,
      retries: 0,
    });
  });

  it("shows each backend's queue at maxConnections, its connections and bytes, in /api/stats and /metrics", async () => {
    // A slow backend: answers wait until the test lets them go.
    const held: (() => void)[] = [];
    let holding = true;
    const slow = await startServer((_req, res) => {
      if (holding) held.push(() => res.end("ok"));
      else res.end("ok");
    });
    cleanups.push(() => slow.close());
    const lab = await startLab([{ id: "slow", address: slow.address }], undefined, { maxConnections: 1 });
    const labels = { listener: "web", pool: "web", backend: "slow" };
    const figures = async () => {
      const stats = await lab.get("/api/stats");
      const metrics = parseExposition((await lab.get("/metrics")).text);
      return {
        stats: stats.json.listeners.web.backends,
        metrics: [
          metrics.value("switchyard_backend_queue_length", labels),
          metrics.value("switchyard_backend_connections_open", labels),
          metrics.value("switchyard_backend_connections_idle", labels),
          metrics.value("switchyard_request_bytes_total", labels),
          metrics.value("switchyard_response_bytes_total", labels),
        ],
      };
    };

    const answers = Promise.all(Array.from({ length: 3 }, () => request({ port: lab.proxyPort })));
    await waitFor(() => held.length === 1 && lab.proxy.stats().backends[0]?.queued === 2);
    // One request head went out on the wire; nothing came back yet.
    const sent = (lab.proxy.stats().backends[0]?.requestBytes ?? 0) as number;
    expect(sent).toBeGreaterThan("GET / HTTP/1.1\r\n\r\n".length);
    expect(await figures()).toEqual({
      stats: [
        {
          id: "slow",
          queued: 2,
          openConnections: 1,
          idleConnections: 0,
          requestBytes: sent,
          responseBytes: 0,
        },
      ],
      metrics: [2, 1, 0, sent, 0],
    });

    holding = false;
    for (const release of held.splice(0)) release();
    expect((await answers).map((answer) => answer.status)).toEqual([200, 200, 200]);
    // Three heads out (the same each time), three responses back with their "ok" bodies.
    const after = await figures();
    const [backend] = after.stats;
    expect(backend).toMatchObject({
      queued: 0,
      openConnections: 1,
      idleConnections: 1,
      requestBytes: sent * 3,
    });
    expect(backend.responseBytes).toBeGreaterThan(3 * "HTTP/1.1 200 OK\r\n\r\nok".length);
    expect(after.metrics).toEqual([0, 1, 1, sent * 3, backend.responseBytes]);
  });

  it("explains recent decisions with candidates and scores, newest first", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const lab = await startLab([
      { id: "a", address: a.address },
      { id: "b", address: b.address },
    ]);
    await traffic(lab.proxyPort, 8);
    const reply = await lab.get("/api/explain?pool=web&limit=5");
    expect(reply.status).toBe(200);
    const web = reply.json.pools.web;
    expect(web).toMatchObject({ algorithm: "least-connections", sample: 1, capacity: 100, kept: 8 });
    expect(web.decisions).toHaveLength(5);
    expect(web.decisions.map((decision: { seq: number }) => decision.seq)).toEqual([8, 7, 6, 5, 4]);
    for (const decision of web.decisions) {
      expect(decision).toMatchObject({
        algorithm: "least-connections",
        backend: expect.stringMatching(/^[ab]$/),
        reason: expect.stringContaining("in flight"),
        scoresAt: "decision",
        time: expect.any(String),
      });
      expect(decision.attempts).toEqual([decision.backend]);
      expect(decision.candidates).toEqual([
        { id: "a", score: expect.any(Number), ready: true },
        { id: "b", score: expect.any(Number), ready: true },
      ]);
    }

    const all = await lab.get("/api/explain");
    expect(Object.keys(all.json.pools)).toEqual(["web"]);
    expect(all.json.pools.web.decisions).toHaveLength(8);
    const bad = await lab.get("/api/explain?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("limit");
    expect((await lab.get("/api/explain?pool=nope")).status).toBe(404);
  });
});

describe("metrics in the runtime", () => {
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.close(0);
    runtime = undefined;
  });

  it("wires decision sampling from the config, listener counters and process metrics", async () => {
    const a = await echo("a");
    runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
        pools: { web: { backends: [{ id: "a", address: a.address }] } },
        admin: { listen: "127.0.0.1:0" },
        log: { decisions: { sample: 2, capacity: 3 } },
      }),
    );
    const port = runtime.listeners[0]?.port as number;
    await traffic(port, 10);
    const adminPort = runtime.admin?.port as number;

    const metrics = parseExposition((await request({ port: adminPort, path: "/metrics" })).text);
    expect(metrics.value("switchyard_listener_requests_total", { listener: "web", pool: "web" })).toBe(10);
    expect(metrics.value("switchyard_requests_total", { backend: "a", status_class: "2xx" })).toBe(10);
    expect(metrics.types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(metrics.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");

    const explain = JSON.parse((await request({ port: adminPort, path: "/api/explain" })).text);
    expect(explain.pools.web).toMatchObject({ sample: 2, capacity: 3, kept: 5 });
    expect(explain.pools.web.decisions.map((decision: { seq: number }) => decision.seq)).toEqual([5, 4, 3]);
  });

  it("validates the log settings", () => {
    const base = {
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
      pools: { web: { backends: [{ address: "127.0.0.1:1" }] } },
    };
    expect(parseConfig(base).log.access).toBeUndefined();
    expect(parseConfig({ ...base, log: { access: { sample: 100 } } }).log.access).toEqual({
      enabled: true,
      sample: 100,
    });
    expect(parseConfig({ ...base, log: { decisions: { sample: 0 } } }).log.decisions).toEqual({
      sample: 0,
      capacity: 100,
    });
    expect(() => parseConfig({ ...base, log: { access: { sample: 0 } } })).toThrow(/log\.access\.sample/);
  });
});

describe("access log through the proxy", () => {
  it("writes one line per sampled request with backend, status, attempts and error code", async () => {
    const entries: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => entries.push(JSON.parse(line)) });
    const a = await echo("a");
    const dead = await closedPort();
    const balancer = createBalancer({
      backends: [
        { id: "dead", address: `127.0.0.1:${dead}` },
        { id: "a", address: a.address },
      ],
    });
    const proxy = new HttpProxy({ balancer, name: "web", accessLog: new AccessLog(logger, { sample: 2 }) });
    const { port } = await proxy.listen();
    cleanups.push(() => proxy.close(200));
    for (let index = 0; index < 4; index++) {
      expect((await request({ port, path: `/item/${index}` })).status).toBe(200);
    }
    await balancer.pool.remove("a");
    expect((await request({ port, path: "/gone" })).status).toBe(502);
    // Every second request is logged: the 2nd, the 4th (not the 502, the 5th).
    expect(entries.map((entry) => entry.path)).toEqual(["/item/1", "/item/3"]);
    expect(entries[0]).toMatchObject({
      listener: "web",
      method: "GET",
      status: 200,
      algorithm: "round-robin",
    });
    const attempts = entries.map((entry) => entry.attempts as number);
    expect(Math.max(...attempts)).toBe(2);
    proxy.accessLog?.write({
      listener: "web",
      method: "GET",
      path: "/manual",
      status: 0,
      latencyMs: 0,
      backend: undefined,
      attempts: 0,
      algorithm: undefined,
    });
    expect(entries).toHaveLength(3);
  });

  it("records the proxy's own error code", async () => {
    const entries: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => entries.push(JSON.parse(line)) });
    const dead = await closedPort();
    const balancer = createBalancer({ backends: [{ id: "dead", address: `127.0.0.1:${dead}` }] });
    const proxy = new HttpProxy({ balancer, name: "web", accessLog: new AccessLog(logger) });
    const { port } = await proxy.listen();
    cleanups.push(() => proxy.close(200));
    expect((await request({ port, path: "/" })).status).toBe(502);
    expect(entries[0]).toMatchObject({ status: 502, code: "SY_ERR_UPSTREAM_CONNECT", backend: "dead" });
  });
});

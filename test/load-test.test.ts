/**
 * `POST /api/load-test` end to end: a real HttpProxy over two echo backends
 * and an AdminServer whose load targets are the proxy's bound address. Rate
 * and concurrency runs, progress polling, one run at a time, validation and
 * auth.
 */
import { describe, expect, it } from "vitest";
import { AdminServer } from "../src/admin/admin-server.js";
import { createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { startSwitchyard } from "../src/runtime.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, startEchoServer, startServer, type TestServer } from "./helpers/servers.js";

const TOKEN = "load-test-token";
const cleanups = useCleanups();

type Json = Record<string, unknown>;

async function setup(startBackend: (name: string) => Promise<TestServer> = startEchoServer) {
  const backends = [await startBackend("a"), await startBackend("b")];
  for (const backend of backends) cleanups.push(() => backend.close());
  const balancer = createBalancer({ backends: backends.map((backend) => ({ address: backend.address })) });
  const proxy = new HttpProxy({ balancer, name: "web" });
  const bound = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  const admin = new AdminServer({
    balancers: new Map([["web", balancer]]),
    token: TOKEN,
    port: 0,
    loadTargets: () => [{ name: "web", host: bound.host, port: bound.port }],
  });
  const { port } = await admin.listen();
  cleanups.push(() => admin.close(200));
  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await request({
      port,
      method,
      path,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (response.text ? JSON.parse(response.text) : {}) as Json };
  };
  return { call, backends };
}

async function pollUntilDone(call: Awaited<ReturnType<typeof setup>>["call"], id: string): Promise<Json> {
  const deadline = Date.now() + 15_000;
  let seenRunning = false;
  for (;;) {
    const { status, json } = await call("GET", `/api/load-test/${id}`);
    expect(status).toBe(200);
    if (json.status === "running") seenRunning = true;
    else return { ...json, seenRunning };
    if (Date.now() > deadline) throw new Error(`load test ${id} still running`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("POST /api/load-test", () => {
  it("runs a rate test against the proxy's own listener, with progress and a result", async () => {
    const { call, backends } = await setup();
    const started = await call("POST", "/api/load-test", { rate: 200, durationMs: 1_000, path: "/lt" });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ status: "running", listener: "web", path: "/lt" });
    const id = started.json.id as string;
    expect(id).toEqual(expect.any(String));

    const again = await call("POST", "/api/load-test", { concurrency: 2, durationMs: 500 });
    expect(again.status).toBe(409);
    expect(again.json.running).toBe(id);
    expect(again.json.error).toBe("SY_ERR_LOAD_TEST_RUNNING");

    const done = await pollUntilDone(call, id);
    expect(done.seenRunning).toBe(true);
    expect(done.status).toBe("done");
    expect(done.completed as number).toBeGreaterThanOrEqual(150);
    expect(done.completed as number).toBeLessThanOrEqual(250);
    expect(done.errors).toBe(0);
    expect(done.unanswered).toBe(0);
    expect(done.statusClasses).toEqual({ "2xx": done.completed });
    expect(done.latency).toMatchObject({
      p50: expect.any(Number),
      p95: expect.any(Number),
      p99: expect.any(Number),
    });
    expect((done.latency as Json).p50 as number).toBeGreaterThan(0);
    // Paced at the rate asked: never above it (plus the last second's slack); a busy machine may drain slower.
    expect(done.rps as number).toBeGreaterThan(0);
    expect(done.rps as number).toBeLessThanOrEqual(250);
    expect(done.result).toMatchObject({ completed: done.completed, aborted: false, mode: { rate: 200 } });
    // Both backends served the test traffic through the proxy.
    for (const backend of backends) expect(backend.requests).toBeGreaterThan(20);

    const list = await call("GET", "/api/load-test");
    expect(list.json.running).toBeNull();
    expect((list.json.runs as Json[]).map((run) => run.id)).toEqual([id]);
  });

  it("runs a concurrency test", async () => {
    const { call } = await setup();
    const started = await call("POST", "/api/load-test", { concurrency: 4, durationMs: 500 });
    expect(started.status).toBe(202);
    const done = await pollUntilDone(call, started.json.id as string);
    expect(done.status).toBe("done");
    expect(done.completed as number).toBeGreaterThan(20);
    expect(done.errors).toBe(0);
    expect(done.mode).toEqual({ concurrency: 4 });
  });

  it("takes the ALPHA1/BETA1 balancer's bodies: { requests, concurrent } and /api/stress-test", async () => {
    const { call, backends } = await setup();
    const counted = await call("POST", "/api/load-test", { requests: 100, concurrent: 10 });
    expect(counted.status).toBe(202);
    expect(counted.json).toMatchObject({ mode: { concurrency: 10 }, requests: 100, durationMs: 60_000 });
    const done = await pollUntilDone(call, counted.json.id as string);
    expect(done).toMatchObject({ status: "done", sent: 100, completed: 100, errors: 0, requests: 100 });
    expect(done.result).toMatchObject({ aborted: false });
    expect(backends.reduce((sum, backend) => sum + backend.requests, 0)).toBe(100);

    const stress = await call("POST", "/api/stress-test", { duration: 1, concurrent: 3 });
    expect(stress.status).toBe(202);
    expect(stress.json).toMatchObject({ mode: { concurrency: 3 }, durationMs: 1_000, requests: null });
    const stressed = await pollUntilDone(call, stress.json.id as string);
    expect(stressed.status).toBe("done");
    expect(stressed.completed as number).toBeGreaterThan(10);

    const tooLong = await call("POST", "/api/stress-test", { duration: 61, concurrent: 3 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.message).toMatch(/duration: expected a whole number from 1 to 60 \(seconds\)/);
    const twoModes = await call("POST", "/api/load-test", { requests: 10, concurrent: 2, concurrency: 2 });
    expect(twoModes.status).toBe(400);
    expect(twoModes.json.message).toMatch(/exactly one of rate, concurrency \(or concurrent\)/);
    const unbounded = await call("POST", "/api/load-test", { concurrent: 2 });
    expect(unbounded.status).toBe(400);
    expect(unbounded.json.message).toMatch(/durationMs: missing; expected durationMs, requests or both/);
  });

  it("counts the 5xx answers as errors, apart from requests never answered", async () => {
    let served = 0;
    const { call } = await setup(() =>
      startServer((_req, res) => {
        res.writeHead(++served % 3 === 0 ? 500 : 200);
        res.end();
      }),
    );
    const started = await call("POST", "/api/load-test", { rate: 100, durationMs: 500 });
    const done = await pollUntilDone(call, started.json.id as string);
    const failed = (done.statusClasses as Record<string, number>)["5xx"] as number;
    expect(failed).toBeGreaterThan(0);
    expect(done).toMatchObject({ status: "done", errors: failed, unanswered: 0 });
    expect(done.result).toMatchObject({ errors: failed, unanswered: 0 });
  });

  it("keeps the last 10 runs", async () => {
    const { call } = await setup();
    const ids: string[] = [];
    for (let run = 0; run < 11; run++) {
      const started = await call("POST", "/api/load-test", { concurrency: 1, durationMs: 5 });
      expect(started.status).toBe(202);
      ids.push(started.json.id as string);
      expect((await pollUntilDone(call, started.json.id as string)).status).toBe("done");
    }
    expect((await call("GET", `/api/load-test/${ids[0]}`)).status).toBe(404);
    const list = await call("GET", "/api/load-test");
    expect((list.json.runs as Json[]).map((run) => run.id)).toEqual(ids.slice(1).reverse());
  });

  it("rejects invalid bodies with 400 naming the field", async () => {
    const { call } = await setup();
    const long = await call("POST", "/api/load-test", { rate: 10, durationMs: 70_000 });
    expect(long.status).toBe(400);
    expect(long.json.message).toContain("durationMs");
    const both = await call("POST", "/api/load-test", { rate: 10, concurrency: 2, durationMs: 100 });
    expect(both.status).toBe(400);
    expect(both.json.message).toMatch(/rate|concurrency/);
    const neither = await call("POST", "/api/load-test", { durationMs: 100 });
    expect(neither.status).toBe(400);
    const listener = await call("POST", "/api/load-test", { rate: 10, durationMs: 100, listener: "nope" });
    expect(listener.status).toBe(400);
    expect(listener.json.message).toContain("listener");
    const path = await call("POST", "/api/load-test", { rate: 10, durationMs: 100, path: "x" });
    expect(path.status).toBe(400);
    expect(path.json.message).toContain("path");
    expect((await call("GET", "/api/load-test/unknown")).status).toBe(404);
  });

  it("refuses writes without the token", async () => {
    const { call } = await setup();
    const none = await call("POST", "/api/load-test", { rate: 10, durationMs: 100 }, null);
    expect([401, 403]).toContain(none.status);
    const wrong = await call("POST", "/api/load-test", { rate: 10, durationMs: 100 }, "wrong");
    expect([401, 403]).toContain(wrong.status);
    expect((await call("GET", "/api/load-test")).json.runs).toEqual([]);
  });
});

describe("load tests from the runtime's admin API", () => {
  it("targets the runtime's own HTTP listener", async () => {
    const backend = await startEchoServer("a");
    cleanups.push(() => backend.close());
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
        pools: { web: { backends: [{ address: backend.address }] } },
        admin: { listen: "127.0.0.1:0", token: TOKEN },
      }),
    );
    cleanups.push(() => runtime.close(200));
    const port = runtime.admin?.port as number;
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const body = JSON.stringify({ concurrency: 2, durationMs: 300 });
    const started = await request({ port, method: "POST", path: "/api/load-test", headers, body });
    expect(started.status).toBe(202);
    const id = (JSON.parse(started.text) as Json).id as string;
    const deadline = Date.now() + 10_000;
    let run: Json = {};
    while (Date.now() < deadline) {
      run = JSON.parse((await request({ port, path: `/api/load-test/${id}` })).text) as Json;
      if (run.status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(run).toMatchObject({ status: "done", errors: 0, listener: "web" });
    expect(backend.requests).toBeGreaterThan(10);
  });
});

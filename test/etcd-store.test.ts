/**
 * Several proxy instances sharing their pools through a real etcd (Debian's
 * etcd on free 127.0.0.1 ports, temp data dir): two runtimes in this process,
 * each started from its own config file with `configStore: etcd`, real HTTP
 * backends and admin APIs on OS-chosen ports. Each test uses its own key
 * prefix, so tests do not see each other's pools.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replacePool } from "../src/config/etcd/etcd-pools.js";
import { createEtcdClient } from "../src/discovery/etcd-client.js";
import { backendKey } from "../src/discovery/etcd-pool-keys.js";
import { useEtcdSuite } from "./helpers/etcd.js";
import { request, startEchoServer, type TestServer, waitFor } from "./helpers/servers.js";
import { type StoreInstance, startStoreInstance } from "./helpers/store-instance.js";

const TOKEN = "etcd-test-token";
const suite = useEtcdSuite("etcd-store");
const { cleanups } = suite;

interface Instance extends Omit<StoreInstance, "port" | "adminPort"> {
  /** One request through the proxy; resolves with the backend that answered. */
  get(): Promise<string>;
  admin(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

async function backend(name: string): Promise<TestServer> {
  const server = await startEchoServer(name);
  cleanups.push(() => server.close());
  return server;
}

/** An instance from a config file whose `web` pool holds `backends` and whose pools live in etcd under `prefix`. */
async function instance(name: string, prefix: string, backends: TestServer[]): Promise<Instance> {
  const file = join(suite.dir, `${name}-${prefix.replaceAll("/", "")}.json`);
  await writeFile(
    file,
    JSON.stringify({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
      pools: {
        web: {
          backends: backends.map((server, index) => ({ id: `b${index + 1}`, address: server.address })),
          outlierDetection: false,
        },
      },
      admin: { listen: "127.0.0.1:0", token: TOKEN },
      configStore: { provider: "etcd", endpoints: [suite.etcd.url], prefix, debounceMs: 20 },
    }),
  );
  const { port, adminPort, ...started } = await startStoreInstance(file, cleanups);
  return {
    ...started,
    async get() {
      const reply = await request({ port });
      expect(reply.status).toBe(200);
      return String(reply.headers["x-backend"]);
    },
    async admin(method, path, body) {
      const reply = await request({
        port: adminPort,
        method,
        path,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: reply.status, json: JSON.parse(reply.text) as Record<string, unknown> };
    },
  };
}

function pool(target: Instance) {
  const balancer = target.runtime.balancers.get("web");
  if (!balancer) throw new Error("no pool web");
  return balancer.pool;
}

/** Sends `count` requests and counts the answers per backend. */
async function spread(target: Instance, count: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const name = await target.get();
    seen[name] = (seen[name] ?? 0) + 1;
  }
  return seen;
}

describe("pools shared through etcd", () => {
  it("a backend added through A's admin API gets traffic through B within a second; a weight change applies on both", async () => {
    const one = await backend("one");
    const two = await backend("two");
    const a = await instance("a", "/share/", [one]);
    const b = await instance("b", "/share/", [one]);

    const added = await a.admin("POST", "/api/servers", { id: "b2", address: two.address });
    const addedAt = Date.now();
    // A answers once it runs the change itself.
    expect(added.status).toBe(201);
    expect(added.json.id).toBe("b2");
    expect(pool(a).get("b2")).toBeDefined();
    // B routes to it within a second: round-robin over two backends reaches it by the second request.
    let reached = false;
    while (!reached && Date.now() - addedAt < 1_000) {
      reached = (await b.get()) === "two";
      if (!reached) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(reached).toBe(true);
    expect(Date.now() - addedAt).toBeLessThan(1_000);

    // A weight change (through B) and an algorithm switch (through A) run on both: smooth WRR 3:1.
    expect((await b.admin("PATCH", "/api/servers/b2", { weight: 3 })).status).toBe(200);
    expect((await a.admin("POST", "/api/strategy", { algorithm: "wrr" })).status).toBe(200);
    await waitFor(
      () =>
        [a, b].every((target) => pool(target).get("b2")?.configuredWeight === 3) &&
        [a, b].every((target) => target.runtime.balancers.get("web")?.algorithm === "weighted-round-robin"),
      1_000,
    );
    expect(await spread(a, 8)).toEqual({ one: 2, two: 6 });
    expect(await spread(b, 8)).toEqual({ one: 2, two: 6 });
    // /api/config serves the running config, with the pool from etcd.
    const served = await b.admin("GET", "/api/config");
    expect((served.json.pools as { web: { backends: unknown[] } }).web.backends).toContainEqual(
      expect.objectContaining({ id: "b2", weight: 3 }),
    );

    // Concurrent writes on different backends through both instances: neither is lost.
    const three = await backend("three");
    const four = await backend("four");
    const [x, y] = await Promise.all([
      a.admin("POST", "/api/servers", { id: "b3", address: three.address }),
      b.admin("POST", "/api/servers", { id: "b4", address: four.address }),
    ]);
    expect([x.status, y.status]).toEqual([201, 201]);
    await waitFor(() => [a, b].every((target) => pool(target).backends.length === 4), 1_000);
    // And a duplicate is refused, as on a single instance.
    const duplicate = await b.admin("POST", "/api/servers", { id: "b3", address: three.address });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error).toBe("SY_ERR_DUPLICATE_BACKEND");
  });

  it("rejects an invalid change made in etcd with one log line and keeps the running pools", async () => {
    const one = await backend("one");
    const a = await instance("a", "/invalid/", [one]);
    const client = createEtcdClient({ endpoints: [suite.etcd.url], requestTimeoutMs: 2_000 });
    cleanups.push(() => client.close());
    await client
      .put(backendKey("/invalid/", "web", "bad"))
      .value('{"id":"bad","address":"127.0.0.1:1","weight":-5}');
    await waitFor(() => a.logs.some((line) => line.level === 50), 2_000);
    const errors = a.logs.filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(
      /^etcd change rejected, keeping the running config \(revision \d+\): invalid/,
    );
    expect(errors[0]?.msg).toContain("pools.web.backends[0].weight: expected a number from 0 to 10000");
    expect(pool(a).backends.map((backend) => backend.id)).toEqual(["b1"]);
    expect(await a.get()).toBe("one");
    const stats = await a.admin("GET", "/api/stats");
    expect((stats.json.configStore as { rejected: { error: string } }).rejected.error).toContain("weight");
    expect(await metrics(a)).toMatch(/^switchyard_config_reloads_total\{result="failure"\} 1$/m);

    // Once the bad key is gone the file's pool is back in force, and the rejection is cleared.
    await client.delete().key(backendKey("/invalid/", "web", "bad"));
    await waitFor(() => a.store.admin?.status().rejected === null, 2_000);
    // An admin write that would store an invalid pool (no backend left) is refused before it reaches etcd.
    const emptied = await a.admin("DELETE", "/api/servers/b1");
    expect(emptied.status).toBe(400);
    expect(emptied.json.error).toBe("SY_ERR_CONFIG");
    expect(emptied.json.message).toContain("pools.web.backends");
    expect(await client.getAll().prefix("/invalid/").keys()).toEqual([]);
    expect(await a.get()).toBe("one");
  });

  it("keeps both instances serving while etcd is down, reports it, fails writes fast, and resyncs when etcd returns", async () => {
    const one = await backend("one");
    const two = await backend("two");
    const a = await instance("a", "/outage/", [one]);
    const b = await instance("b", "/outage/", [one]);

    await suite.etcd.stop();
    const state = async (target: Instance, path: string) =>
      ((await target.admin("GET", path)).json.configStore as { state: string; revision: number }).state;
    const down = async () =>
      (await state(a, "/api/stats")) === "disconnected" && (await state(b, "/api/stats")) === "disconnected";
    const deadline = Date.now() + 3_000;
    while (!(await down()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await down()).toBe(true);

    // Routing goes on with the last pools; /ready stays 200 and says why the store is out.
    for (const target of [a, b]) {
      expect(await spread(target, 5)).toEqual({ one: 5 });
      const ready = await target.admin("GET", "/ready");
      expect(ready.status).toBe(200);
      expect(ready.json.configStore).toMatchObject({
        state: "disconnected",
        lastError: { message: expect.any(String) },
      });
    }
    const started = Date.now();
    const refused = await a.admin("POST", "/api/servers", { id: "b2", address: two.address });
    expect(refused.status).toBe(503);
    expect(refused.json.error).toBe("SY_ERR_CONFIG_STORE");
    expect(refused.json.message).toMatch(/^etcd at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(a.logs.some((line) => line.msg.startsWith("lost etcd; routing continues"))).toBe(true);
    expect(await metrics(a)).toMatch(/^switchyard_config_store_connected\{provider="etcd"\} 0$/m);

    // etcd returns; a change pushed before the instances reconnected arrives on both.
    await suite.etcd.start();
    const client = createEtcdClient({ endpoints: [suite.etcd.url], requestTimeoutMs: 2_000 });
    cleanups.push(() => client.close());
    await replacePool(
      client,
      { endpoints: [suite.etcd.url], prefix: "/outage/", requestTimeoutMs: 2_000 },
      "web",
      {
        outlierDetection: false,
        backends: [
          { id: "b1", address: one.address },
          { id: "b2", address: two.address },
        ],
      },
    );
    await waitFor(() => [a, b].every((target) => pool(target).get("b2") !== undefined), 15_000);
    expect(await state(a, "/ready")).toBe("connected");
    const text = await metrics(a);
    expect(text).toMatch(/^switchyard_config_store_connected\{provider="etcd"\} 1$/m);
    expect(text).toMatch(/^switchyard_config_store_rejected\{provider="etcd"\} 0$/m);
    const revision = Number(/^switchyard_config_store_revision\{provider="etcd"\} (\d+)$/m.exec(text)?.[1]);
    const stats = (await a.admin("GET", "/api/stats")).json.configStore as { revision: number };
    expect(revision).toBe(stats.revision);
    for (const target of [a, b]) expect(await spread(target, 4)).toEqual({ one: 2, two: 2 });
  }, 30_000);
});

/** The instance's Prometheus text. */
async function metrics(target: Instance): Promise<string> {
  const admin = target.runtime.admin;
  if (!admin) throw new Error("no admin API");
  return (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
}

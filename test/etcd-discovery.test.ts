/**
 * etcd discovery against a real etcd (Debian's etcd on free 127.0.0.1 ports,
 * see helpers/etcd.ts) and real HTTP backends: the client dispatcher and a
 * proxy follow a pool's backends as `switchyard config push` and the admin
 * API store them; a malformed key, a missing pool and an etcd outage keep the
 * backends and are reported, and etcd's return is followed. Each test uses
 * its own key prefix.
 */
import type { Etcd3 } from "etcd3";
import { fetch } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { replacePool } from "../src/config/etcd/etcd-pools.js";
import { parseConfig } from "../src/config/load.js";
import { Pool } from "../src/core/pool.js";
import { Discovery } from "../src/discovery/discovery.js";
import type { DiscoveryOptions } from "../src/discovery/discovery-options.js";
import { createEtcdClient } from "../src/discovery/etcd-client.js";
import { backendKey } from "../src/discovery/etcd-pool-keys.js";
import { startSwitchyard } from "../src/runtime.js";
import { startEtcd, type TestEtcd } from "./helpers/etcd.js";
import { parseExposition } from "./helpers/exposition.js";
import { request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

let etcd: TestEtcd;
let client: Etcd3;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  client = createEtcdClient({ endpoints: [etcd.url], requestTimeoutMs: 2_000 });
}, 30_000);
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (!etcd.running) await etcd.start();
});

async function backend(name: string): Promise<TestServer> {
  const server = await startServer((_req, res) => res.end(name));
  cleanups.push(() => server.close());
  return server;
}

/** Stores pool `name` under `prefix` as `switchyard config push` does. */
function push(prefix: string, name: string, pool: Record<string, unknown>): Promise<unknown> {
  return replacePool(client, { endpoints: [etcd.url], prefix, requestTimeoutMs: 2_000 }, name, pool);
}

function dispatcherOn(prefix: string, pool: string): BalancedDispatcher {
  const dispatcher = new BalancedDispatcher({
    services: { orders: { discovery: { etcd: { endpoints: [etcd.url], prefix, pool, debounceMs: 10 } } } },
  });
  cleanups.push(() => dispatcher.destroy());
  return dispatcher;
}

const members = (dispatcher: BalancedDispatcher) =>
  dispatcher
    .service("orders")
    .balancer.pool.backends.map((backend) => `${backend.id} w${backend.configuredWeight}`);

/** The distinct answers `count` requests through the dispatcher get, sorted. */
async function answers(dispatcher: BalancedDispatcher, count: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) seen.add(await (await fetch("http://orders/", { dispatcher })).text());
  return [...seen].sort();
}

describe("etcd discovery", () => {
  it("feeds the client dispatcher the backends of a pool in etcd, and follows them as they change", async () => {
    const one = await backend("one");
    const two = await backend("two");
    // The stored pool's settings and agents are the proxy's business: only backends are taken.
    await push("/follow/", "orders", {
      algorithm: "p2c",
      backends: [{ id: "a", address: one.address, agent: { url: "http://127.0.0.1:1/metrics" } }],
    });
    await push("/follow/", "orders-2", { backends: [{ id: "x", address: two.address }] });
    const dispatcher = dispatcherOn("/follow/", "orders");
    await dispatcher.ready();
    expect(members(dispatcher)).toEqual(["a w1"]);
    expect(await answers(dispatcher, 4)).toEqual(["one"]);

    // One key per backend: an admin API adding one, another re-weighting, each arrive.
    await client
      .put(backendKey("/follow/", "orders", "b"))
      .value(JSON.stringify({ id: "b", address: two.address }));
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 2, 5_000);
    expect(await answers(dispatcher, 4)).toEqual(["one", "two"]);
    await client
      .put(backendKey("/follow/", "orders", "b"))
      .value(JSON.stringify({ id: "b", address: two.address, weight: 4 }));
    await waitFor(() => members(dispatcher).includes("b w4"), 5_000);

    // A push that drops a backend drains it.
    await push("/follow/", "orders", { backends: [{ id: "b", address: two.address, weight: 4 }] });
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 1, 5_000);
    expect(members(dispatcher)).toEqual(["b w4"]);
    expect(await answers(dispatcher, 4)).toEqual(["two"]);
    expect(dispatcher.stats().orders?.discovery).toMatchObject({
      source: "etcd",
      target: "/follow/pools/orders",
      failures: 0,
      lastError: null,
      backends: 1,
    });
  });

  it("keeps the backends on a malformed key or a missing pool, reports it, and recovers", async () => {
    const one = await backend("one");
    const dispatcher = dispatcherOn("/bad/", "orders");
    await dispatcher.ready();
    const stats = () => dispatcher.stats().orders?.discovery;
    expect(stats()).toMatchObject({ failures: 1, lastError: 'no pool "orders" in etcd', backends: 0 });

    await push("/bad/", "orders", { backends: [{ id: "a", address: one.address }] });
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 1, 5_000);
    expect(stats()).toMatchObject({ consecutiveFailures: 0, backends: 1 });

    await client
      .put(backendKey("/bad/", "orders", "c"))
      .value('{"id":"c","address":"127.0.0.1:1","weight":-5}');
    await waitFor(() => (stats()?.consecutiveFailures ?? 0) > 0, 5_000);
    expect(stats()?.lastError).toBe("[1].weight: expected a number from 0 to 10000");
    expect(members(dispatcher)).toEqual(["a w1"]);
    expect(await answers(dispatcher, 2)).toEqual(["one"]);

    await client.put(backendKey("/bad/", "orders", "c")).value('{"id":"c","address":"127.0.0.1:1"}');
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 2, 5_000);
    expect(stats()).toMatchObject({ consecutiveFailures: 0, backends: 2 });
  });

  it("keeps the backends while etcd is down, reports it, and follows a change once it is back", async () => {
    const one = await backend("one");
    const two = await backend("two");
    await push("/outage/", "orders", { backends: [{ id: "a", address: one.address }] });
    const dispatcher = dispatcherOn("/outage/", "orders");
    await dispatcher.ready();

    await etcd.stop();
    await waitFor(() => (dispatcher.stats().orders?.discovery?.failures ?? 0) > 0, 5_000);
    expect(dispatcher.stats().orders?.discovery?.lastError).toMatch(
      /^etcd at http:\/\/127\.0\.0\.1:\d+ is unreachable \((reading|watching) pool "orders"\)/,
    );
    expect(await answers(dispatcher, 2)).toEqual(["one"]);

    await etcd.start();
    await push("/outage/", "orders", { backends: [{ id: "b", address: two.address }] });
    await waitFor(() => members(dispatcher).join() === "b w1", 15_000);
    expect(await answers(dispatcher, 2)).toEqual(["two"]);
    expect(dispatcher.stats().orders?.discovery?.consecutiveFailures).toBe(0);
  });

  it("refuses options that name no pool, a pool with a slash, a bad endpoint or two sources", () => {
    const refused = (options: unknown) => () => new Discovery(new Pool(), options as DiscoveryOptions);
    expect(refused({ etcd: {} })).toThrow(/discovery\.etcd\.pool: expected a pool name/);
    expect(refused({ etcd: { pool: "a/b" } })).toThrow(
      /discovery\.etcd\.pool: expected a pool name \(no "\/"\)/,
    );
    expect(refused({ etcd: { pool: "a", endpoints: ["10.0.0.5:2379"] } })).toThrow(
      /discovery\.etcd\.endpoints\.0: expected an etcd client URL/,
    );
    expect(refused({ etcd: { pool: "a" }, file: { path: "x.json" } })).toThrow(
      /expected one source: dns, file or etcd/,
    );
  });

  it("feeds a proxy pool from its config file's discovery, shown in /api/stats and /metrics", async () => {
    const one = await backend("one");
    await push("/proxy/", "orders", { backends: [{ id: "a", address: one.address }] });
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
        pools: { web: { discovery: { etcd: { endpoints: [etcd.url], prefix: "/proxy/", pool: "orders" } } } },
        admin: { listen: "127.0.0.1:0" },
      }),
    );
    cleanups.push(() => runtime.close(500));
    const reply = await request({ port: runtime.listeners[0]?.port ?? 0 });
    expect(reply.text).toBe("one");
    const stats = JSON.parse((await request({ port: runtime.admin?.port ?? 0, path: "/api/stats" })).text);
    expect(stats.pools.web.discovery).toMatchObject({
      source: "etcd",
      target: "/proxy/pools/orders",
      backends: 1,
    });
    const metrics = parseExposition(
      (await request({ port: runtime.admin?.port ?? 0, path: "/metrics" })).text,
    );
    expect(metrics.value("switchyard_discovery_backends", { pool: "web", source: "etcd" })).toBe(1);
  });
});

/**
 * DNS discovery against a real DNS server (dns2) on 127.0.0.1: the test
 * changes the records it serves, and the pool, and the traffic through the
 * client dispatcher, follow on the records' TTL. A/AAAA: the name resolves
 * to 127.0.0.1 and ::1, each served by its own backend on the same port.
 * SRV: targets, ports, weights and priorities come from the records.
 */
import { fetch } from "undici";
import { describe, expect, it } from "vitest";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { Pool } from "../src/core/pool.js";
import { Discovery } from "../src/discovery/discovery.js";
import type { DnsDiscoveryOptions } from "../src/discovery/discovery-options.js";
import { startDns, type TestDns, type ZoneName } from "./helpers/dns.js";
import { useCleanups } from "./helpers/fixtures.js";
import { closeServer, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

async function dnsServer(zone: Record<string, ZoneName>, ttl = 1): Promise<TestDns> {
  const dns = await startDns(zone, ttl);
  cleanups.push(() => dns.close());
  return dns;
}

/** A discovery feeding a new pool, started (first lookup done). */
async function follow(dns: DnsDiscoveryOptions): Promise<{ pool: Pool; discovery: Discovery }> {
  const pool = new Pool();
  const discovery = new Discovery(pool, { dns: { minTtlMs: 100, ...dns } });
  cleanups.push(() => discovery.stop());
  await discovery.start();
  return { pool, discovery };
}

const members = (pool: Pool) => pool.backends.map((backend) => `${backend.id} w${backend.weight}`);

async function backend(text: string): Promise<TestServer> {
  const server = await startServer((_req, res) => res.end(text));
  cleanups.push(() => server.close());
  return server;
}

/** Two backends on one port: one on 127.0.0.1, one on ::1. */
async function dualStackBackends(): Promise<{ port: number }> {
  const v4 = await backend("v4");
  const v6 = await backend("v6");
  await closeServer(v6.server);
  await new Promise<void>((resolve) => v6.server.listen(v4.port, "::1", resolve));
  return { port: v4.port };
}

/** The distinct answers `count` requests through the dispatcher get, sorted. */
async function answers(dispatcher: BalancedDispatcher, url: string, count: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) seen.add(await (await fetch(url, { dispatcher })).text());
  return [...seen].sort();
}

describe("DNS discovery: A and AAAA", () => {
  it("adds and drains backends as A/AAAA records change, on their TTL", async () => {
    const dns = await dnsServer({ "orders.test": { a: ["127.0.0.1"] } });
    const { pool, discovery } = await follow({ hostname: "orders.test", port: 8080, servers: [dns.server] });
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080"]);

    dns.zone["orders.test"] = { a: ["127.0.0.1"], aaaa: ["::1"] };
    await waitFor(() => pool.size === 2, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080", "[::1]:8080"]);

    dns.zone["orders.test"] = { aaaa: ["::1"] };
    await waitFor(() => pool.size === 1, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["[::1]:8080"]);
    expect(discovery.stats()).toMatchObject({
      source: "dns",
      target: "orders.test",
      failures: 0,
      backends: 1,
    });
  });

  it("keeps the backends when the DNS server stops answering, and reports it", async () => {
    const dns = await dnsServer({ "orders.test": { a: ["127.0.0.1"] } }, 0);
    const { pool, discovery } = await follow({
      hostname: "orders.test",
      port: 8080,
      servers: [dns.server],
      minTtlMs: 50,
      retryMs: 50,
      timeoutMs: 100,
    });
    const answered = discovery.stats()?.lastSuccessAt ?? 0;
    await dns.close();
    await waitFor(() => (discovery.stats()?.failures ?? 0) > 0, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080"]);
    const stats = discovery.stats();
    expect(stats).toMatchObject({ source: "dns", target: "orders.test", backends: 1 });
    expect(stats?.lastError).toMatch(/ETIMEOUT|ECONNREFUSED/);
    expect(stats?.consecutiveFailures).toBeGreaterThan(0);
    expect(stats?.lastSuccessAt).toBeGreaterThanOrEqual(answered);
    expect(stats?.lastErrorAt).toBeGreaterThanOrEqual(stats?.lastSuccessAt ?? Number.NaN);
  });

  it("sends the dispatcher's traffic where the records point", async () => {
    const { port } = await dualStackBackends();
    const dns = await dnsServer({ "orders.test": { a: ["127.0.0.1"] } });
    const dispatcher = new BalancedDispatcher({
      services: {
        orders: {
          discovery: { dns: { hostname: "orders.test", port, servers: [dns.server], minTtlMs: 100 } },
        },
      },
    });
    cleanups.push(() => dispatcher.destroy());
    await dispatcher.ready();
    const pool = dispatcher.service("orders").balancer.pool;
    expect(await answers(dispatcher, "http://orders/", 4)).toEqual(["v4"]);
    dns.zone["orders.test"] = { a: ["127.0.0.1"], aaaa: ["::1"] };
    await waitFor(() => pool.size === 2, 3000);
    expect(await answers(dispatcher, "http://orders/", 4)).toEqual(["v4", "v6"]);
    dns.zone["orders.test"] = { aaaa: ["::1"] };
    await waitFor(() => pool.size === 1, 3000);
    expect(await answers(dispatcher, "http://orders/", 4)).toEqual(["v6"]);
    // The dispatcher's stats carry each service's discovery state beside its balancer's.
    const { orders } = dispatcher.stats();
    expect(orders?.backends.map((b) => b.id)).toEqual([`[::1]:${port}`]);
    expect(orders?.discovery).toMatchObject({
      source: "dns",
      target: "orders.test",
      failures: 0,
      lastError: null,
      backends: 1,
    });
    expect(orders?.discovery?.refreshes).toBeGreaterThanOrEqual(3);
  });
});

describe("DNS discovery: SRV", () => {
  it("follows the records: targets on their ports, weights, the lowest priority, changes on the TTL", async () => {
    const a = { target: "a.orders.test", port: 8001, priority: 10, weight: 3 };
    const b = { target: "b.orders.test", port: 8002, priority: 10, weight: 1 };
    const c = { target: "c.orders.test", port: 8003, priority: 20, weight: 5 };
    const dns = await dnsServer({
      "_http._tcp.orders.test": { srv: [a, b, c] },
      "a.orders.test": { a: ["127.0.0.1"] },
      "b.orders.test": { a: ["127.0.0.2"], aaaa: ["::1"] },
      "c.orders.test": { a: ["127.0.0.3"] },
    });
    const { pool, discovery } = await follow({ srv: "_http._tcp.orders.test", servers: [dns.server] });
    // Priority 20 is the fallback: not in the pool while priority 10 has addresses.
    expect(members(pool)).toEqual(["127.0.0.1:8001 w3", "127.0.0.2:8002 w1", "[::1]:8002 w1"]);

    dns.zone["_http._tcp.orders.test"] = { srv: [{ ...a, weight: 6 }, c] };
    await waitFor(() => pool.size === 1, 3000);
    expect(members(pool)).toEqual(["127.0.0.1:8001 w6"]);

    // The priority 10 target leaves DNS (NXDOMAIN): the priority 20 one takes over.
    delete dns.zone["a.orders.test"];
    await waitFor(() => pool.get("127.0.0.3:8003") !== undefined && pool.size === 1, 3000);
    expect(members(pool)).toEqual(["127.0.0.3:8003 w5"]);

    dns.zone["_http._tcp.orders.test"] = {};
    await waitFor(() => pool.size === 0, 3000);
    expect(discovery.stats()).toMatchObject({ target: "_http._tcp.orders.test", failures: 0, backends: 0 });
  });

  it("sends the dispatcher's traffic to the SRV targets' ports", async () => {
    const one = await backend("one");
    const two = await backend("two");
    const dns = await dnsServer({
      "_http._tcp.orders.test": { srv: [{ target: "one.orders.test", port: one.port }] },
      "one.orders.test": { a: ["127.0.0.1"] },
      "two.orders.test": { a: ["127.0.0.1"] },
    });
    const dispatcher = new BalancedDispatcher({
      services: {
        orders: {
          discovery: { dns: { srv: "_http._tcp.orders.test", servers: [dns.server], minTtlMs: 100 } },
        },
      },
    });
    cleanups.push(() => dispatcher.destroy());
    await dispatcher.ready();
    expect(await answers(dispatcher, "http://orders/", 4)).toEqual(["one"]);
    dns.zone["_http._tcp.orders.test"] = {
      srv: [
        { target: "one.orders.test", port: one.port },
        { target: "two.orders.test", port: two.port },
      ],
    };
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 2, 3000);
    expect(await answers(dispatcher, "http://orders/", 4)).toEqual(["one", "two"]);
  });

  it("refuses options that name no record to follow", () => {
    expect(() => new Discovery(new Pool(), { dns: { srv: "_http._tcp.x", port: 80 } })).toThrow(
      /discovery\.dns\.port: expected no port with srv/,
    );
    expect(() => new Discovery(new Pool(), { dns: { hostname: "x" } })).toThrow(/discovery\.dns\.port/);
  });
});

/**
 * DNS discovery against a real DNS server (dns2) on 127.0.0.1: the test
 * changes the records it serves, and the pool, and the traffic through the
 * client dispatcher, follow on the records' TTL. The name resolves to
 * 127.0.0.1 (A) and ::1 (AAAA), each served by its own backend on the same
 * port.
 */
import type { AddressInfo } from "node:net";
import dns2 from "dns2";
import { fetch } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { Pool } from "../src/core/pool.js";
import { DnsDiscovery } from "../src/discovery/dns-discovery.js";
import { closeServer, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) await cleanup();
});

interface Records {
  a: string[];
  aaaa: string[];
  ttl: number;
}

/** A DNS server on 127.0.0.1 answering `name` from `records`, which the test may change. */
async function startDns(name: string, records: Records): Promise<string> {
  const { Packet } = dns2;
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      if (question?.name === name) {
        const v6 = question.type === Packet.TYPE.AAAA;
        for (const address of v6 ? records.aaaa : records.a) {
          const record = {
            name,
            type: v6 ? Packet.TYPE.AAAA : Packet.TYPE.A,
            class: Packet.CLASS.IN,
            ttl: records.ttl,
            address,
          };
          // dns2's types ask for a packet class; its encoder takes plain records (its README does this).
          response.answers.push(record as unknown as (typeof response.answers)[number]);
        }
      }
      send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: "127.0.0.1" } });
  cleanups.push(() => server.close());
  const { port } = server.addresses().udp as AddressInfo;
  return `127.0.0.1:${port}`;
}

/** Two backends on one port: one on 127.0.0.1, one on ::1. */
async function dualStackBackends(): Promise<{ v4: TestServer; v6: TestServer; port: number }> {
  const v4 = await startServer((_req, res) => res.end("v4"));
  cleanups.push(() => v4.close());
  const v6 = await startServer((_req, res) => res.end("v6"));
  cleanups.push(() => v6.close());
  await closeServer(v6.server);
  await new Promise<void>((resolve) => v6.server.listen(v4.port, "::1", resolve));
  return { v4, v6, port: v4.port };
}

describe("DNS discovery", () => {
  it("adds and drains backends as A/AAAA records change, on their TTL", async () => {
    const records: Records = { a: ["127.0.0.1"], aaaa: [], ttl: 1 };
    const server = await startDns("orders.test", records);
    const pool = new Pool();
    const discovery = new DnsDiscovery(pool, {
      hostname: "orders.test",
      port: 8080,
      servers: [server],
      minTtlMs: 100,
    });
    cleanups.push(() => discovery.stop());
    await discovery.start();
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080"]);

    records.aaaa = ["::1"];
    await waitFor(() => pool.size === 2, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080", "[::1]:8080"]);

    records.a = [];
    await waitFor(() => pool.size === 1, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["[::1]:8080"]);
    expect(discovery.failures).toBe(0);
  });

  it("keeps the backends when the DNS server stops answering", async () => {
    const records: Records = { a: ["127.0.0.1"], aaaa: [], ttl: 0 };
    const server = await startDns("orders.test", records);
    const pool = new Pool();
    const discovery = new DnsDiscovery(pool, {
      hostname: "orders.test",
      port: 8080,
      servers: [server],
      minTtlMs: 50,
      retryMs: 50,
      timeoutMs: 100,
    });
    cleanups.push(() => discovery.stop());
    await discovery.start();
    await cleanups.splice(0, 1)[0]?.(); // the DNS server goes away
    await waitFor(() => discovery.failures > 0, 3000);
    expect(pool.backends.map((b) => b.id)).toEqual(["127.0.0.1:8080"]);
  });

  it("sends the dispatcher's traffic where the records point", async () => {
    const { port } = await dualStackBackends();
    const records: Records = { a: ["127.0.0.1"], aaaa: [], ttl: 1 };
    const server = await startDns("orders.test", records);
    const dispatcher = new BalancedDispatcher({
      services: { orders: { dns: { hostname: "orders.test", port, servers: [server], minTtlMs: 100 } } },
    });
    cleanups.push(() => dispatcher.destroy());
    await dispatcher.ready();
    const answers = async (count: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < count; i++) seen.add(await (await fetch("http://orders/", { dispatcher })).text());
      return [...seen].sort();
    };
    expect(await answers(4)).toEqual(["v4"]);
    records.aaaa = ["::1"];
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 2, 3000);
    expect(await answers(4)).toEqual(["v4", "v6"]);
    records.a = [];
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 1, 3000);
    expect(await answers(4)).toEqual(["v6"]);
  });
});

/**
 * Geo routing end to end: real backends and a real HttpProxy on 127.0.0.1,
 * the balancer built by `createBalancer` from an algorithm spec as config
 * gives it. The client's location comes from the trusted `X-Client-Region` /
 * `X-Client-Geo` headers (the test client is the trusted peer 127.0.0.1).
 * Covers same-region preference, failover to the nearest healthy region when
 * a region's backends are killed or marked down, per-region counters, the
 * headers being ignored from an untrusted peer, and geo-proximity.
 */
import { describe, expect, it } from "vitest";
import { geographical } from "../src/algorithms/geographical.js";
import {
  type AlgorithmDefinition,
  type KnownAlgorithmSpec,
  registerAlgorithm,
} from "../src/algorithms/registry.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import type { Selector } from "../src/core/selector.js";
import type { GeoOptions } from "../src/geo/geo-options.js";
import type { RegionStatsSource } from "../src/geo/region-stats.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { startSwitchyard } from "../src/runtime.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, startEchoServer, type TestServer } from "./helpers/servers.js";

const cleanups = useCleanups();

/** Every selector the balancer builds under the "geographical-observed" name, to read its region counters. */
const built: (Selector & RegionStatsSource)[] = [];
registerAlgorithm({
  ...geographical,
  name: "geographical-observed",
  aliases: [],
  create(options, env) {
    const selector = geographical.create(options, env) as Selector & RegionStatsSource;
    built.push(selector);
    return selector;
  },
} as AlgorithmDefinition<Parameters<typeof geographical.create>[0]>);

const SITES = {
  dublin: { region: "eu-west", latitude: 53.3498, longitude: -6.2603 },
  frankfurt: { region: "eu-central", latitude: 50.1109, longitude: 8.6821 },
  virginia: { region: "us-east", latitude: 39.0438, longitude: -77.4874 },
} as const;

// The test's own algorithm, declared as a library user declares theirs, so its name type-checks.
declare module "../src/algorithms/registry.js" {
  interface RegisteredAlgorithms {
    "geographical-observed": true;
  }
}

const TRUSTED: GeoOptions = { trustedProxies: ["127.0.0.1", "::1"], database: false };

interface Fleet {
  servers: Record<string, TestServer>;
  balancer: Balancer;
  port: number;
}

/** Backends eu-west a, b; eu-central c; us-east d; a proxy in front using `algorithm`. */
async function startFleet(algorithm: KnownAlgorithmSpec): Promise<Fleet> {
  const layout = { a: SITES.dublin, b: SITES.dublin, c: SITES.frankfurt, d: SITES.virginia };
  const servers: Record<string, TestServer> = {};
  for (const name of Object.keys(layout)) {
    const server = await startEchoServer(name);
    servers[name] = server;
    cleanups.push(() => server.close());
  }
  const balancer = createBalancer({
    backends: Object.entries(layout).map(([name, site]) => ({
      id: name,
      address: (servers[name] as TestServer).address,
      ...site,
    })),
    algorithm,
    healthCheck: undefined,
  });
  const proxy = new HttpProxy({ balancer });
  const { port } = await proxy.listen();
  cleanups.push(async () => {
    await proxy.close(200);
    await balancer.stop();
  });
  return { servers, balancer, port };
}

/** Sends `count` sequential requests with `headers`; returns the x-backend of each (status must be 200). */
async function served(port: number, count: number, headers: Record<string, string>): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await request({ port, path: `/r${i}`, headers });
    expect(response.status).toBe(200);
    names.push(String(response.headers["x-backend"]));
  }
  return names;
}

describe("geo routing through the proxy", () => {
  it("prefers the client's region and fails over to the nearest healthy region", async () => {
    built.length = 0;
    const { servers, balancer, port } = await startFleet({ name: "geographical-observed", geo: TRUSTED });
    const selector = built.at(-1) as RegionStatsSource;

    const europe = await served(port, 20, { "x-client-region": "eu-west" });
    expect(new Set(europe)).toEqual(new Set(["a", "b"]));
    expect(new Set(await served(port, 10, { "x-client-region": "us-east" }))).toEqual(new Set(["d"]));

    // Kill both eu-west backends: connect errors, retried on the next candidates, land in eu-central (not us-east).
    await (servers.a as TestServer).close();
    await (servers.b as TestServer).close();
    const failedOver = await served(port, 10, { "x-client-region": "eu-west" });
    expect(new Set(failedOver)).toEqual(new Set(["c"]));
    const stats = selector.regionStats();
    expect(stats["eu-west"]?.failovers).toBe(10);
    expect(stats["eu-central"]?.requests).toBe(10);
    expect(stats["us-east"]).toMatchObject({ requests: 10, failovers: 0 });
    expect(balancer.stats().failovers).toBeGreaterThan(0);

    // Marked down by health checks instead (no retries needed): eu-central goes too, us-east takes over.
    balancer.pool.setState("c", "unhealthy");
    expect(new Set(await served(port, 5, { "x-client-region": "eu-west" }))).toEqual(new Set(["d"]));
    expect(selector.regionStats()["eu-west"]?.failovers).toBe(15);
  });

  it("returns traffic to the region once it recovers", async () => {
    const { balancer, port } = await startFleet({ name: "geographical", geo: TRUSTED });
    balancer.pool.setState("a", "unhealthy");
    balancer.pool.setState("b", "unhealthy");
    expect(new Set(await served(port, 4, { "x-client-region": "eu-west" }))).toEqual(new Set(["c"]));
    balancer.pool.setState("a", "healthy");
    expect(new Set(await served(port, 4, { "x-client-region": "eu-west" }))).toEqual(new Set(["a"]));
  });

  it("ignores location headers from a peer that is not a trusted proxy", async () => {
    const { port } = await startFleet({
      name: "geographical",
      geo: { trustedProxies: ["192.0.2.1"], database: false },
    });
    const names = await served(port, 16, { "x-client-region": "eu-west" });
    expect(new Set(names)).toEqual(new Set(["a", "b", "c", "d"]));
  });

  it("geo-proximity sends each client to the nearest site", async () => {
    const { port } = await startFleet({ name: "geo-proximity", geo: TRUSTED });
    expect(new Set(await served(port, 6, { "x-client-geo": "40.7128,-74.0060" }))).toEqual(new Set(["d"]));
    expect(new Set(await served(port, 6, { "x-client-geo": "48.8566,2.3522" }))).toEqual(new Set(["c"]));
    expect(new Set(await served(port, 6, { "x-client-geo": "51.5074,-0.1278" }))).toEqual(
      new Set(["a", "b"]),
    );
  });
});

describe("geo resolvers in the runtime", () => {
  it("gives pools with the same geo options one warm resolver", async () => {
    const geo: GeoOptions = { database: false, cidrRegions: [{ cidr: "10.0.0.0/8", region: "eu" }] };
    const pool = (port: number) => ({
      algorithm: { name: "geographical", geo },
      backends: [{ address: `127.0.0.1:${port}`, region: "eu" }],
    });
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "one" }],
        pools: { one: pool(1), two: pool(2) },
      }),
    );
    cleanups.push(() => runtime.close(1_000));
    const one = runtime.balancers.get("one");
    const two = runtime.balancers.get("two");
    expect(one?.env.geoResolvers).toBe(two?.env.geoResolvers);
    one?.select({ clientIp: "10.1.2.3" });
    two?.select({ clientIp: "10.1.2.3" });
    expect(one?.env.geoResolvers.get(geo).cacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });
});

import { describe, expect, it } from "vitest";
import { useTempDir } from "../../test/helpers/fixtures.js";
import { defaultGeoIpDatabasePath } from "../geo/geoip-database.js";
import { fromDwcpForm, isDwcpForm } from "./dwcp-form.js";
import { resolveConfig } from "./load.js";

/** The seed's own loadbalancer.yaml, with the GeoIP path put where a database is. */
const seedFile = (databasePath: string) => `
load_balancer:
  algorithm: geo-proximity
  health_check_interval: 5s
  unhealthy_threshold: 3
  healthy_threshold: 2
  connection_timeout: 2s
  max_connections: 100000

  session_affinity:
    enabled: true
    ttl: 30m
    virtual_nodes: 150

  failover:
    timeout: 100ms
    max_retries: 3

  circuit_breaker:
    threshold: 0.5
    timeout: 30s

  geo_routing:
    enabled: true
    database_path: ${databasePath}

  metrics:
    interval: 10s
`;

const dir = useTempDir("switchyard-dwcp-");

describe("the DWCP config form", () => {
  it("reads the seed's loadbalancer.yaml as it is, with backends from the flags", async () => {
    const database = defaultGeoIpDatabasePath();
    const path = await dir.file("loadbalancer.yaml", seedFile(database));
    const config = await resolveConfig({
      file: path,
      flags: { backends: ["127.0.0.1:9001", "127.0.0.1:9002"] },
    });
    const pool = config.pools.main;
    expect(pool?.algorithm).toMatchObject({ name: "geo-proximity", geo: { database } });
    expect(pool?.backends.map((backend) => backend.address)).toEqual(["127.0.0.1:9001", "127.0.0.1:9002"]);
    expect(pool?.healthCheck).toMatchObject({
      type: "http",
      path: "/health",
      intervalMs: 5000,
      fall: 3,
      rise: 2,
    });
    expect(pool?.affinity).toMatchObject({ mode: "cookie", ttlMs: 1_800_000 });
    expect(pool?.circuitBreaker).toMatchObject({ errorRate: 0.5, openMs: 30_000 });
    expect(config.listeners).toHaveLength(1);
    expect(config.listeners[0]).toMatchObject({
      name: "main",
      pool: "main",
      maxConnections: 100_000,
      maxRetries: 3,
      timeouts: { connectMs: 2000 },
    });
  });

  it("says which servers are missing: the DWCP file names none", async () => {
    const path = await dir.file("no-servers.yaml", "load_balancer:\n  algorithm: round-robin\n");
    await expect(resolveConfig({ file: path })).rejects.toThrow(/pools\.main\.backends/);
  });

  it("passes Switchyard's own top-level keys through and leaves geo out of a non-geo algorithm", () => {
    const raw = {
      load_balancer: {
        algorithm: "least-connections",
        geo_routing: { enabled: true, database_path: "x.mmdb" },
      },
      log: { level: "debug" },
    };
    expect(isDwcpForm(raw)).toBe(true);
    expect(fromDwcpForm(raw)).toEqual({
      log: { level: "debug" },
      listeners: [{ name: "main", listen: "127.0.0.1:8080", pool: "main" }],
      pools: { main: { algorithm: "least-connections" } },
    });
    expect(raw.load_balancer.algorithm).toBe("least-connections");
  });

  it("refuses an unknown key by name, a section that is not a mapping, and a mixed file", () => {
    expect(() => fromDwcpForm({ load_balancer: { algorithmn: "p2c" } })).toThrow(
      /"load_balancer\.algorithmn" is not a DWCP setting; expected one of algorithm,/,
    );
    expect(() => fromDwcpForm({ load_balancer: { failover: 3 } })).toThrow(/"failover" must be a mapping/);
    expect(() => fromDwcpForm({ load_balancer: {}, pools: {} })).toThrow(/cannot be mixed/);
    expect(isDwcpForm({ pools: {} })).toBe(false);
  });
});

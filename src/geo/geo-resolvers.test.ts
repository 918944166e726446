import { copyFileSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GeoResolvers } from "./geo-resolvers.js";
import { defaultGeoIpDatabasePath } from "./geoip-database.js";

describe("GeoResolvers", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-resolvers-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives one resolver per distinct options", () => {
    const resolvers = new GeoResolvers();
    const options = { database: false as const, countryRegions: { US: "us-east" } };
    const first = resolvers.get(options);
    expect(resolvers.get({ ...options })).toBe(first);
    expect(resolvers.get({ database: false })).not.toBe(first);
    expect(resolvers.size).toBe(2);
  });

  it("keeps nothing between instances", () => {
    const options = { database: false as const };
    expect(new GeoResolvers().get(options)).not.toBe(new GeoResolvers().get(options));
  });

  it("keeps at most its capacity, dropping the least recently used", () => {
    const resolvers = new GeoResolvers(2);
    const a = resolvers.get({ database: false, cacheSize: 1 });
    const b = resolvers.get({ database: false, cacheSize: 2 });
    expect(resolvers.get({ database: false, cacheSize: 1 })).toBe(a);
    resolvers.get({ database: false, cacheSize: 3 });
    expect(resolvers.size).toBe(2);
    expect(resolvers.get({ database: false, cacheSize: 1 })).toBe(a);
    expect(resolvers.get({ database: false, cacheSize: 2 })).not.toBe(b);
  });

  it("replaces a resolver whose database file changed on disk", () => {
    const database = join(dir, "country.mmdb");
    copyFileSync(defaultGeoIpDatabasePath(), database);
    const resolvers = new GeoResolvers();
    const before = resolvers.get({ database });
    expect(resolvers.get({ database })).toBe(before);
    utimesSync(database, new Date(), new Date(Date.now() + 60_000));
    const after = resolvers.get({ database });
    expect(after).not.toBe(before);
    expect(after.lookupIp("8.8.8.8").country).toBe("US");
    expect(resolvers.size).toBe(1);
  });
});

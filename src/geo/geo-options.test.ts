import { describe, expect, it } from "vitest";
import { describeOptions, resolveAlgorithm } from "../algorithms/registry.js";
import type { ConfigIssue } from "../config/errors.js";
import { parseConfig } from "../config/load.js";
import { isSwitchyardError, type SwitchyardError } from "../core/errors.js";
import { geoAlgorithmOptions, geoOptionsSchema } from "./geo-options.js";

function rejected(run: () => unknown, code: "SY_ERR_INVALID_OPTIONS" | "SY_ERR_CONFIG"): SwitchyardError {
  try {
    run();
  } catch (error) {
    if (isSwitchyardError(error, code)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

const badOptions = (geo: unknown) =>
  rejected(() => resolveAlgorithm({ name: "geographical", geo }), "SY_ERR_INVALID_OPTIONS").message;

describe("geo options", () => {
  it("fills defaults, and parsing its own output changes nothing", () => {
    const parsed = geoAlgorithmOptions.parse({});
    expect(parsed).toEqual({
      geo: {
        trustedProxies: [],
        cidrRegions: [],
        countryRegions: {},
        continentRegions: {},
        cacheSize: 10_000,
      },
    });
    const full = geoAlgorithmOptions.parse({
      geo: {
        trustedProxies: ["10.0.0.0/8"],
        cidrRegions: [{ cidr: "192.0.2.0/24", region: "eu-west", latitude: 53.3, longitude: -6.3 }],
        database: false,
        countryRegions: { IE: "eu-west" },
        continentRegions: { NA: "us-east" },
        cacheSize: 5,
      },
    });
    expect(geoAlgorithmOptions.parse(full)).toEqual(full);
  });

  it("names bad coordinates with their range", () => {
    const entry = { cidr: "192.0.2.0/24", region: "eu-west" };
    expect(badOptions({ cidrRegions: [{ ...entry, latitude: 91, longitude: 0 }] })).toContain(
      "geo.cidrRegions.0.latitude: expected a number from -90 to 90",
    );
    expect(badOptions({ cidrRegions: [entry, { ...entry, latitude: 0, longitude: -200 }] })).toContain(
      "geo.cidrRegions.1.longitude: expected a number from -180 to 180",
    );
    expect(badOptions({ cidrRegions: [{ ...entry, latitude: 10 }] })).toContain(
      "geo.cidrRegions.0.longitude: expected latitude and longitude together",
    );
  });

  it("names an unreadable database", () => {
    expect(badOptions({ database: "/no/such/file.mmdb" })).toContain(
      'geo.database: cannot open the GeoIP database "/no/such/file.mmdb"',
    );
    expect(badOptions({ database: 42 })).toContain(
      "geo.database: expected the path of a MaxMind-format .mmdb file",
    );
  });

  it("rejects bad blocks, country codes, continents and unknown keys", () => {
    expect(badOptions({ cidrRegions: [{ cidr: "eu-west", region: "x" }] })).toContain(
      "geo.cidrRegions.0.cidr",
    );
    expect(badOptions({ countryRegions: { USA: "us-east" } })).toContain(
      "two-letter ISO 3166-1 country code",
    );
    expect(badOptions({ continentRegions: { XX: "nowhere" } })).toContain(
      "geo.continentRegions.XX: expected a continent code: AF, AN, AS, EU, NA, OC, SA",
    );
    expect(badOptions({ trustedProxy: ["10.0.0.0/8"] })).toContain("trustedProxy");
    expect(badOptions({ cacheSize: 1.5 })).toContain("geo.cacheSize: expected a whole number");
  });

  it("is reported by the config loader under the pool's algorithm path", () => {
    const config = (geo: unknown) => ({
      listeners: [{ name: "web", listen: "127.0.0.1:8080", pool: "web" }],
      pools: {
        web: {
          algorithm: { name: "geographical", geo },
          backends: [{ address: "127.0.0.1:9001", region: "eu" }],
        },
      },
    });
    const issues = (geo: unknown) =>
      rejected(() => parseConfig(config(geo)), "SY_ERR_CONFIG").details?.issues as ConfigIssue[];
    expect(
      issues({ cidrRegions: [{ cidr: "10.0.0.0/8", region: "x", latitude: -100, longitude: 0 }] })[0],
    ).toMatchObject({ path: "pools.web.algorithm.geo.cidrRegions[0].latitude" });
    const [databaseIssue] = issues({ database: "/no/such/file.mmdb" });
    expect(databaseIssue?.path).toBe("pools.web.algorithm.geo.database");
    expect(databaseIssue?.message).toContain("cannot open the GeoIP database");
    expect(parseConfig(config({ database: false })).pools.web?.algorithm).toMatchObject({
      name: "geographical",
    });
  });

  it("describes itself as JSON Schema for listings", () => {
    const schema = JSON.stringify(describeOptions(resolveAlgorithm("geo-proximity").definition));
    for (const key of [
      "trustedProxies",
      "cidrRegions",
      "database",
      "countryRegions",
      "continentRegions",
      "cacheSize",
    ]) {
      expect(schema).toContain(key);
    }
    expect(geoOptionsSchema.safeParse({ cacheSize: 2_000_000 }).success).toBe(false);
  });
});

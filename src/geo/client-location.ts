/**
 * Where a client is, resolved in order of trust:
 *
 * 1. `X-Client-Region: eu-west` and/or `X-Client-Geo: lat,lon`, only when the
 *    peer (`ctx.clientIp`) is one of the configured trusted proxies: anyone
 *    else could claim any location.
 * 2. The configured CIDR → region map (most specific block wins).
 * 3. A GeoIP lookup: country → region through `countryRegions`, then
 *    `continentRegions`, then the continent's default name ("europe"...);
 *    coordinates from the database when it has them, else the country's
 *    representative point.
 *
 * Behind a trusted proxy that sent no location header, steps 2 and 3 use the
 * client address it forwarded (the rightmost untrusted X-Forwarded-For entry).
 * Steps 2–3 are cached per address in a bounded LRU; results are frozen and
 * shared, so a cached resolution allocates nothing. Everything is synchronous.
 */
import type { RequestContext } from "../core/context.js";
import { forwardedClient } from "../core/forwarded-client.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import { CidrMatcher, parseCidr } from "./cidr.js";
import { type Continent, countryInfo, DEFAULT_CONTINENT_REGIONS } from "./countries.js";
import { type GeoOptions, parseGeoOptions, type ResolvedGeoOptions } from "./geo-options.js";
import { type GeoIpDatabase, openGeoIpDatabase } from "./geoip-database.js";
import { GeoPoint, isLatitude, isLongitude } from "./haversine.js";
import { LruCache } from "./lru-cache.js";

export type LocationSource = "header" | "cidr" | "geoip" | "none";

export interface ClientLocation {
  readonly source: LocationSource;
  readonly region?: string;
  readonly latitude?: number;
  readonly longitude?: number;
  /** ISO country code, for GeoIP results. */
  readonly country?: string;
  /** The coordinates as a point, when known (for distance comparisons). */
  readonly point?: GeoPoint;
}

/** Request header naming the client's region (lower case, as node:http gives names). */
export const REGION_HEADER = "x-client-region";
/** Request header with the client's `latitude,longitude` in decimal degrees. */
export const GEO_HEADER = "x-client-geo";

/** The answer for a client nothing is known about. */
export const UNKNOWN_LOCATION: ClientLocation = Object.freeze({ source: "none" });

const REGION_TOKEN = /^[A-Za-z0-9._:-]{1,100}$/;
const HEADER_CACHE_SIZE = 1024;

export interface GeoCacheStats {
  size: number;
  capacity: number;
  hits: number;
  misses: number;
}

export class GeoResolver {
  readonly options: ResolvedGeoOptions;
  /** The GeoIP database in use, or undefined when GeoIP is off. */
  readonly database: GeoIpDatabase | undefined;
  readonly #trusted: CidrMatcher<true>;
  readonly #isTrusted = (address: string): boolean => this.#trusted.has(address);
  readonly #cidrRegions: CidrMatcher<ClientLocation>;
  readonly #cache: LruCache<string, ClientLocation>;
  readonly #regionHeaders = new LruCache<string, ClientLocation>(HEADER_CACHE_SIZE);
  readonly #geoHeaders = new LruCache<string, ClientLocation>(HEADER_CACHE_SIZE);
  readonly #byCountry = new Map<string, ClientLocation>();
  readonly #countryRegions: Map<string, string>;

  /** Validates `options` (throws SY_ERR_INVALID_OPTIONS naming the field) and opens the database. */
  constructor(options: GeoOptions = {}) {
    this.options = parseGeoOptions(options);
    const { trustedProxies, cidrRegions, database, countryRegions, cacheSize } = this.options;
    this.#trusted = new CidrMatcher(
      trustedProxies.map((cidr) => ({ block: parseCidr(cidr), value: true as const })),
    );
    this.#cidrRegions = new CidrMatcher(
      cidrRegions.map((entry) => ({
        block: parseCidr(entry.cidr),
        value: makeLocation("cidr", entry.region, entry.latitude, entry.longitude),
      })),
    );
    this.#countryRegions = new Map(
      Object.entries(countryRegions).map(([code, region]) => [code.toUpperCase(), region]),
    );
    this.#cache = new LruCache(cacheSize);
    this.database = database === false ? undefined : openGeoIpDatabase(database);
  }

  /** The client's location for this request; `source: "none"` when nothing is known. */
  resolve(ctx: RequestContext): ClientLocation {
    const ip = ctx.clientIp;
    if (ip === undefined) return UNKNOWN_LOCATION;
    const headers = ctx.headers;
    if (headers !== undefined && this.#trusted.size > 0) {
      const region = headers[REGION_HEADER];
      const geo = headers[GEO_HEADER];
      const forwardedFor = headers["x-forwarded-for"];
      if (
        (region !== undefined || geo !== undefined || forwardedFor !== undefined) &&
        this.#trusted.has(ip)
      ) {
        const fromHeaders = this.#fromHeaders(firstValue(region), firstValue(geo));
        if (fromHeaders) return fromHeaders;
        const forwarded = forwardedClient(forwardedFor, this.#isTrusted);
        if (forwarded !== undefined) return this.lookupIp(forwarded);
      }
    }
    return this.lookupIp(ip);
  }

  /** Location of an address from the CIDR map, then GeoIP (cached). */
  lookupIp(ip: string): ClientLocation {
    const key = unmapIpv4(ip);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const location = this.#cidrRegions.match(key) ?? this.#fromDatabase(key) ?? UNKNOWN_LOCATION;
    this.#cache.set(key, location);
    return location;
  }

  /** True when `ip` is a trusted proxy. */
  isTrustedProxy(ip: string): boolean {
    return this.#trusted.has(ip);
  }

  cacheStats(): GeoCacheStats {
    const cache = this.#cache;
    return { size: cache.size, capacity: cache.capacity, hits: cache.hits, misses: cache.misses };
  }

  /** From the location headers (already reduced to their first value); undefined when neither is usable. */
  #fromHeaders(region: string | undefined, geo: string | undefined): ClientLocation | undefined {
    if (geo === undefined) return region === undefined ? undefined : this.#regionHeader(region);
    const fromGeo = this.#geoHeader(geo);
    if (region === undefined) return fromGeo;
    // Both: rare enough to build each time.
    const regionOnly = this.#regionHeader(region);
    if (!fromGeo || !regionOnly) return fromGeo ?? regionOnly;
    return makeLocation("header", regionOnly.region, fromGeo.latitude, fromGeo.longitude);
  }

  #regionHeader(value: string): ClientLocation | undefined {
    const cached = this.#regionHeaders.get(value);
    if (cached !== undefined) return cached;
    const region = value.trim();
    if (!REGION_TOKEN.test(region)) return undefined;
    const location = makeLocation("header", region, undefined, undefined);
    this.#regionHeaders.set(value, location);
    return location;
  }

  #geoHeader(value: string): ClientLocation | undefined {
    const cached = this.#geoHeaders.get(value);
    if (cached !== undefined) return cached;
    const [latitude, longitude] = parseLatLon(value);
    if (latitude === undefined) return undefined;
    const location = makeLocation("header", undefined, latitude, longitude);
    this.#geoHeaders.set(value, location);
    return location;
  }

  #fromDatabase(ip: string): ClientLocation | undefined {
    const record = this.database?.lookup(ip);
    if (!record) return undefined;
    const country = record.country;
    const info = country === undefined ? undefined : countryInfo(country);
    const continent = (record.continent ?? info?.continent) as Continent | undefined;
    const region =
      (country === undefined ? undefined : this.#countryRegions.get(country)) ??
      (continent === undefined
        ? undefined
        : (this.options.continentRegions[continent] ?? DEFAULT_CONTINENT_REGIONS[continent]));
    if (record.latitude !== undefined) {
      return makeLocation("geoip", region, record.latitude, record.longitude, country);
    }
    const shared = `${country}|${continent}`;
    let location = this.#byCountry.get(shared);
    if (location === undefined) {
      location = makeLocation("geoip", region, info?.latitude, info?.longitude, country);
      this.#byCountry.set(shared, location);
    }
    return location;
  }
}

type HeaderValue = string | string[] | undefined;

function firstValue(value: HeaderValue): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first;
}

/** `"51.5,-0.12"` → [51.5, -0.12]; [undefined, undefined] when malformed or out of range. */
function parseLatLon(value: string): [number | undefined, number | undefined] {
  const comma = value.indexOf(",");
  if (comma === -1) return [undefined, undefined];
  const latText = value.slice(0, comma).trim();
  const lonText = value.slice(comma + 1).trim();
  const latitude = latText === "" ? Number.NaN : Number(latText);
  const longitude = lonText === "" ? Number.NaN : Number(lonText);
  return isLatitude(latitude) && isLongitude(longitude) ? [latitude, longitude] : [undefined, undefined];
}

function makeLocation(
  source: LocationSource,
  region: string | undefined,
  latitude: number | undefined,
  longitude: number | undefined,
  country?: string,
): ClientLocation {
  const location: {
    source: LocationSource;
    region?: string;
    latitude?: number;
    longitude?: number;
    country?: string;
    point?: GeoPoint;
  } = { source };
  if (region !== undefined) location.region = region;
  if (country !== undefined) location.country = country;
  const point = GeoPoint.from(latitude, longitude);
  if (point) {
    location.latitude = point.latitude;
    location.longitude = point.longitude;
    location.point = point;
  }
  return Object.freeze(location);
}

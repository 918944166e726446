/**
 * Options for locating clients (`algorithm: { name: "geographical", geo: {...} }`):
 * which proxies may vouch for a client's location in a header, a CIDR → region
 * map, the GeoIP database and how countries map to regions. One zod schema,
 * shared by the config file and the library, so both accept, reject and
 * default the same values; parsing is idempotent (the output is valid input).
 * Every failure names its field: `geo.cidrRegions.0.latitude: expected a
 * number from -90 to 90`, `geo.database: cannot open the GeoIP database ...`.
 */
import { z } from "zod";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { parseCidr } from "./cidr.js";
import { CONTINENTS } from "./countries.js";
import { openGeoIpDatabase } from "./geoip-database.js";

const numberIn = (min: number, max: number, integer = false) => {
  const error = `expected ${integer ? "a whole number" : "a number"} from ${min} to ${max}`;
  const schema = z.number({ error });
  return (integer ? schema.int({ error }) : schema).min(min, { error }).max(max, { error });
};

export const latitudeSchema = numberIn(-90, 90);
export const longitudeSchema = numberIn(-180, 180);

const REGION_ERROR = "expected a region name (1 to 100 characters)";
export const regionSchema = z.string({ error: REGION_ERROR }).min(1, { error: REGION_ERROR }).max(100, {
  error: REGION_ERROR,
});

export const cidrSchema = z
  .string({ error: 'expected an IP address or CIDR block like "10.0.0.0/8" or "2001:db8::/32"' })
  .superRefine((value, ctx) => {
    try {
      parseCidr(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

export const cidrRegionSchema = z
  .strictObject({
    cidr: cidrSchema.describe('client address block, such as "10.0.0.0/8"'),
    region: regionSchema.describe("the region of clients in the block"),
    latitude: latitudeSchema.optional().describe("the clients' latitude in degrees (with longitude)"),
    longitude: longitudeSchema.optional().describe("the clients' longitude in degrees (with latitude)"),
  })
  .superRefine((entry, ctx) => {
    if ((entry.latitude === undefined) !== (entry.longitude === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [entry.latitude === undefined ? "latitude" : "longitude"],
        message: "expected latitude and longitude together (or neither)",
      });
    }
  });

/** A key → region map whose keys must match `key`; a bad key is reported at its own path. */
function keyedRegions(key: RegExp, message: string) {
  return z
    .record(z.string(), regionSchema)
    .superRefine((map, ctx) => {
      for (const name of Object.keys(map)) {
        if (!key.test(name))
          ctx.addIssue({ code: "custom", path: [name], message: `${message}, got "${name}"` });
      }
    })
    .default({});
}

const databaseSchema = z
  .union([z.string().min(1), z.literal(false)], {
    error: "expected the path of a MaxMind-format .mmdb file, or false to turn GeoIP off",
  })
  .optional()
  .superRefine((database, ctx) => {
    if (database === false) return;
    try {
      openGeoIpDatabase(database);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

export const geoOptionsSchema = z.strictObject({
  trustedProxies: z
    .array(cidrSchema)
    .default([])
    .describe("peers (IPs or CIDR blocks) whose X-Client-Region / X-Client-Geo headers are believed"),
  cidrRegions: z
    .array(cidrRegionSchema)
    .default([])
    .describe("client address blocks → region (and optionally coordinates); the most specific block wins"),
  database: databaseSchema.describe(
    "a MaxMind-format .mmdb path; default the shipped DB-IP Lite country database; false: no GeoIP",
  ),
  countryRegions: keyedRegions(
    /^[A-Za-z]{2}$/,
    "expected a two-letter ISO 3166-1 country code (like US)",
  ).describe("ISO country code → region, overriding the continent default for that country"),
  continentRegions: keyedRegions(
    new RegExp(`^(${CONTINENTS.join("|")})$`),
    `expected a continent code: ${CONTINENTS.join(", ")}`,
  ).describe('continent code (AF, AN, AS, EU, NA, OC, SA) → region; default "europe", "north-america", ...'),
  cacheSize: numberIn(0, 1_000_000, true)
    .default(10_000)
    .describe("client IPs whose location is remembered (least recently used forgotten); 0: no cache"),
});

/** Geo options as written (every field optional). */
export type GeoOptions = z.input<typeof geoOptionsSchema>;
/** Geo options with defaults applied. */
export type ResolvedGeoOptions = z.output<typeof geoOptionsSchema>;

/** Options of a geo-aware algorithm: `{ geo?: GeoOptions }`. */
export const geoAlgorithmOptions = z.strictObject({
  geo: geoOptionsSchema.prefault({}).describe("how clients are located (headers, CIDR map, GeoIP)"),
});

/** Validates geo options; throws SY_ERR_INVALID_OPTIONS naming each bad field (`geo.database: ...`). */
export function parseGeoOptions(input: GeoOptions = {}): ResolvedGeoOptions {
  const parsed = geoOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${["geo", ...issue.path].join(".")}: ${issue.message}`,
  );
  throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `invalid geo options: ${problems.join("; ")}`, {
    issues: parsed.error.issues,
  });
}

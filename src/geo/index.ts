/** Geo: client location (trusted header, CIDR map, GeoIP), distances and region counters. */
export * from "./cidr.js";
export * from "./client-location.js";
export * from "./countries.js";
export * from "./geo-options.js";
export * from "./geoip-database.js";
export * from "./haversine.js";
export * from "./lru-cache.js";
export * from "./region-stats.js";

/**
 * The client-location resolvers of one process (or one balancer), by options:
 * selectors built with the same geo options share a resolver, so a rebuilt or
 * switched selector, or another pool configured alike, keeps the warm cache.
 * The runtime gives one instance to all its pools through the algorithms'
 * environment (`AlgorithmEnv.geoResolvers`); nothing here is module state.
 */
import { GeoResolver } from "./client-location.js";
import { type GeoOptions, parseGeoOptions } from "./geo-options.js";
import { openGeoIpDatabase } from "./geoip-database.js";

/** How many distinct option sets keep a resolver; configs rarely have more than one or two. */
const DEFAULT_CAPACITY = 8;

export class GeoResolvers {
  readonly #capacity: number;
  /** By the JSON of the parsed options; Map order is use order, oldest first. */
  readonly #byOptions = new Map<string, GeoResolver>();

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /**
   * The resolver for `options`, the same object for equal options, replaced
   * when the database file changed on disk. Bounded: the least recently used
   * are dropped. Throws as `new GeoResolver` does on invalid options.
   */
  get(options: GeoOptions = {}): GeoResolver {
    const resolved = parseGeoOptions(options);
    const key = JSON.stringify(resolved);
    const existing = this.#byOptions.get(key);
    this.#byOptions.delete(key);
    const current =
      existing &&
      existing.database === (resolved.database === false ? undefined : openGeoIpDatabase(resolved.database));
    const resolver = current ? existing : new GeoResolver(resolved);
    if (this.#byOptions.size >= this.#capacity)
      this.#byOptions.delete(this.#byOptions.keys().next().value as string);
    this.#byOptions.set(key, resolver);
    return resolver;
  }

  /** How many resolvers are kept. */
  get size(): number {
    return this.#byOptions.size;
  }
}

/**
 * What the two geo algorithms (geographical, geo-proximity) share: the
 * client-location resolver, least in flight over the whole pool for requests
 * geography cannot place, the per-region counters (`regionStats()`), and
 * load updates to the group (region or site) whose heap holds a backend.
 * Each subclass groups backends its own way and picks among the groups.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Outcome } from "../core/outcome.js";
import type { Accept, Selector, SelectorFallback } from "../core/selector.js";
import { type ClientLocation, GeoResolver } from "../geo/client-location.js";
import type { GeoOptions } from "../geo/geo-options.js";
import { type RegionCounters, RegionStats, type RegionStatsSource } from "../geo/region-stats.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import type { BackendGroup } from "./backend-groups.js";
import type { AlgorithmEnv } from "./definition.js";
import { LeastConnectionsSelector } from "./least-connections.js";

/**
 * The resolver a geo selector reads: the environment's shared one for these
 * options (a warm cache across rebuilds and pools), else one of its own.
 */
export function geoResolverFor(options: GeoOptions | undefined, env: AlgorithmEnv): GeoResolver {
  return env.geoResolvers?.get(options) ?? new GeoResolver(options);
}

export abstract class GeoSelector implements Selector, RegionStatsSource {
  abstract readonly name: string;
  readonly resolver: GeoResolver;
  /** Least in flight over the whole pool, for clients geography cannot place. */
  protected readonly anywhere = new LeastConnectionsSelector();
  protected readonly stats: RegionStats;
  /** Backend → the group whose load heap holds it (set by `rebuild`). */
  protected groupOf = new Map<Backend, BackendGroup>();
  /** Picks for clients with neither a region nor a point (sent to `anywhere`). */
  #unlocated = 0;

  /** `now`: monotonic ms (the selector env's clock), for the per-region latency windows. */
  constructor(resolver: GeoResolver, now?: () => number) {
    this.resolver = resolver;
    this.stats = new RegionStats(now);
  }

  abstract rebuild(backends: readonly Backend[]): void;
  abstract pick(ctx: RequestContext, accept: Accept, tried?: readonly Backend[]): Backend | undefined;
  abstract describe(backend: Backend): string;

  /** The client's location, counting the clients geography cannot place. */
  protected locate(ctx: RequestContext): ClientLocation {
    const location = this.resolver.resolve(ctx);
    if (location.region === undefined && location.point === undefined) this.#unlocated++;
    return location;
  }

  fallback(): SelectorFallback {
    return {
      picks: this.#unlocated,
      reason: "client location unknown (no region header, CIDR or GeoIP match): least in flight",
    };
  }

  loadChanged(backend: Backend): void {
    this.groupOf.get(backend)?.loadChanged(backend);
    this.anywhere.loadChanged(backend);
  }

  /** Answered attempts' latency, per region (`regionStats()`). */
  observe(backend: Backend, outcome: Outcome): void {
    this.stats.observe(backend, outcome);
  }

  score(backend: Backend): number {
    return inFlightPerWeight(backend);
  }

  regionStats(): Record<string, RegionCounters> {
    return this.stats.snapshot();
  }
}

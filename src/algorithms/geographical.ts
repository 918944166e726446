/**
 * Geographical routing (Datapunk's GeographicalStrategy, with DWCP's
 * region failover): the client's own region first, least in flight per weight
 * inside it; when it has no ready backend (down, draining, or all tried), the
 * nearest region that has one, nearest to the client when its coordinates
 * are known, else to the failed region's centroid; then any ready backend.
 * A region's position is the centroid of its backends' coordinates (their
 * mean on the sphere); a region without coordinates is reached only through
 * "any". Clients whose region no backend carries go to the nearest region.
 *
 * Each request that has to leave its own region counts one failover for that
 * region (`regionStats()`), beside the attempts each region served and their
 * latency (fed by `observe()`).
 */
import type { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { type Accept, NO_BACKENDS_TRIED } from "../core/selector.js";
import { geoAlgorithmOptions } from "../geo/geo-options.js";
import { type BackendGroup, groupByRegion, groupsByBackend, NearestGroupPicker } from "./backend-groups.js";
import type { AlgorithmDefinition } from "./definition.js";
import { GeoSelector, geoResolverFor } from "./geo-selector.js";

const SAME_REGION = 0;
const NEAREST_REGION = 1;
const ANY = 2;

export class GeographicalSelector extends GeoSelector {
  override readonly name: string = "geographical";
  #regions = new Map<string, BackendGroup>();
  #nearest = new NearestGroupPicker([]);
  #lastReason = ANY;
  #lastHome: string | undefined;

  rebuild(backends: readonly Backend[]): void {
    this.anywhere.rebuild(backends);
    this.#regions = groupByRegion(backends);
    this.#nearest = new NearestGroupPicker(this.#regions.values());
    this.groupOf = groupsByBackend(this.#regions.values());
  }

  pick(ctx: RequestContext, accept: Accept, tried = NO_BACKENDS_TRIED): Backend | undefined {
    const location = this.locate(ctx);
    const home = location.region === undefined ? undefined : this.#regions.get(location.region);
    let backend = home?.pick(accept);
    let reason = SAME_REGION;
    if (!backend) {
      const origin = location.point ?? home?.point;
      if (origin) backend = this.#nearest.pick(origin, accept, home);
      reason = NEAREST_REGION;
      if (!backend) {
        backend = this.anywhere.pick(ctx, accept);
        reason = ANY;
      }
    }
    this.#lastReason = reason;
    this.#lastHome = location.region;
    if (backend) this.stats.record(backend, home?.region, tried);
    return backend;
  }

  describe(backend: Backend): string {
    const load = `${backend.inFlight} in flight, weight ${backend.weight}`;
    const home = this.#lastHome;
    const region = backend.region ?? "no region";
    if (this.#lastReason === SAME_REGION) return `client's region ${region}; least in flight (${load})`;
    if (this.#lastReason === NEAREST_REGION) {
      const from = home === undefined ? "client" : `client's region ${home}`;
      return `nearest region with a ready backend to the ${from}: ${region} (${load})`;
    }
    return `${home === undefined ? "client region unknown" : `no ready backend near ${home}`}; least in flight (${load})`;
  }
}

export const geographical: AlgorithmDefinition<z.output<typeof geoAlgorithmOptions>> = {
  name: "geographical",
  aliases: ["same-region", "geo-region"],
  summary: "Client's region first (least in flight), then the nearest region with a ready backend, then any.",
  reference: "Datapunk (geographical, same-region first); DWCP (region failover)",
  options: geoAlgorithmOptions,
  create: (options, env) => new GeographicalSelector(geoResolverFor(options.geo, env), env.now),
};

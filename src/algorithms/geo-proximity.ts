/**
 * Geo-proximity (DWCP's fifth algorithm): the ready backend nearest the
 * client by great-circle (haversine) distance; backends at the same distance
 * (the same site) are told apart by least in flight per weight, with equal
 * loads rotating. The client's location comes from the `GeoResolver` (trusted
 * header, CIDR map, GeoIP); a client known only by region is placed at the
 * centroid of that region's backends. Clients with no usable location, and
 * requests whose located backends are all down or tried, fall back to least
 * in flight over the whole pool, so every ready backend stays reachable.
 *
 * Backends are grouped by site at rebuild, so a pick compares one unit-vector
 * dot product per site (no trigonometry) and scans only the nearest site's
 * backends unless it is exhausted. Per-region counters (`regionStats()`):
 * attempts per serving region, and failovers charged to the client's region
 * (its named region, else the region of its nearest site) when a request
 * leaves it.
 */
import type { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { type Accept, NO_BACKENDS_TRIED } from "../core/selector.js";
import { geoAlgorithmOptions } from "../geo/geo-options.js";
import { type GeoPoint, haversineKm } from "../geo/haversine.js";
import {
  type BackendGroup,
  groupByRegion,
  groupBySite,
  groupsByBackend,
  NearestGroupPicker,
} from "./backend-groups.js";
import type { AlgorithmDefinition } from "./definition.js";
import { GeoSelector, geoResolverFor } from "./geo-selector.js";

const NEAREST = 0;
const FALLBACK = 1;
const NO_LOCATION = 2;

export class GeoProximitySelector extends GeoSelector {
  override readonly name: string = "geo-proximity";
  #regions = new Map<string, BackendGroup>();
  #sites = new NearestGroupPicker([]);
  #lastReason = NO_LOCATION;
  #lastOrigin: GeoPoint | undefined;

  rebuild(backends: readonly Backend[]): void {
    this.anywhere.rebuild(backends);
    this.#regions = groupByRegion(backends);
    this.#sites = new NearestGroupPicker(groupBySite(backends));
    this.groupOf = groupsByBackend(this.#sites.groups);
  }

  pick(ctx: RequestContext, accept: Accept, tried = NO_BACKENDS_TRIED): Backend | undefined {
    const location = this.locate(ctx);
    const named = location.region === undefined ? undefined : this.#regions.get(location.region);
    const origin = location.point ?? named?.point;
    let backend: Backend | undefined;
    let home = named?.region;
    if (origin) {
      backend = this.#sites.pick(origin, accept);
      home ??= this.#sites.groups[this.#sites.nearestGroup]?.region;
    }
    this.#lastOrigin = origin;
    this.#lastReason = backend ? NEAREST : origin ? FALLBACK : NO_LOCATION;
    backend ??= this.anywhere.pick(ctx, accept);
    if (backend) this.stats.record(backend, home, tried);
    return backend;
  }

  describe(backend: Backend): string {
    const load = `${backend.inFlight} in flight, weight ${backend.weight}`;
    const origin = this.#lastOrigin;
    if (
      this.#lastReason === NEAREST &&
      origin &&
      backend.latitude !== undefined &&
      backend.longitude !== undefined
    ) {
      const km = Math.round(
        haversineKm(origin.latitude, origin.longitude, backend.latitude, backend.longitude),
      );
      return `nearest ready backend, ${km} km from the client (${load})`;
    }
    if (this.#lastReason === FALLBACK) return `no located backend left; least in flight (${load})`;
    return `client location unknown; least in flight (${load})`;
  }
}

export const geoProximity: AlgorithmDefinition<z.output<typeof geoAlgorithmOptions>> = {
  name: "geo-proximity",
  aliases: ["geo-nearest"],
  summary:
    "Nearest ready backend to the client (haversine; header, CIDR map or GeoIP); ties by least in flight.",
  reference: "DWCP (geo proximity, haversine, GeoIP)",
  options: geoAlgorithmOptions,
  create: (options, env) => new GeoProximitySelector(geoResolverFor(options.geo, env), env.now),
};

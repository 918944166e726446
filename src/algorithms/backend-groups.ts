/**
 * The pieces both geo-aware selectors are built from: backends grouped by
 * site (identical coordinates) or by region (placed at the region's
 * centroid), each group with its own least-connections index, and the
 * nearest group that still has a backend the caller accepts.
 *
 * A group's pick is the least in flight per weight, ties to the least
 * recently picked (`LeastConnectionsSelector`: an indexed heap, O(1) to read,
 * kept current through `loadChanged`). Groups are rebuilt from each pool
 * snapshot; a pick allocates nothing: group positions are unit vectors packed
 * in one Float64Array and distances go into a scratch array, both sized at
 * build time.
 */

import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept } from "../core/selector.js";
import { GeoPoint } from "../geo/haversine.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { LeastConnectionsSelector } from "./least-connections.js";

const NO_CONTEXT: RequestContext = Object.freeze({});

/** Backends sharing a site or a region, with a least-connections index over them. */
export class BackendGroup {
  /** Region name (region groups), or the first backend's region (site groups). */
  readonly region: string | undefined;
  readonly backends: readonly Backend[];
  /** The site, or the region's centroid; undefined when no backend has coordinates. */
  readonly point: GeoPoint | undefined;
  readonly #index = new LeastConnectionsSelector();

  constructor(region: string | undefined, backends: readonly Backend[], point: GeoPoint | undefined) {
    this.region = region;
    this.backends = backends;
    this.point = point;
    this.#index.rebuild(backends);
  }

  /** The group's least-loaded accepted backend (marked as picked), or undefined. */
  pick(accept: Accept): Backend | undefined {
    return this.#index.pick(NO_CONTEXT, accept);
  }

  /** Re-sorts `backend` after its in-flight count changed. */
  loadChanged(backend: Backend): void {
    this.#index.loadChanged(backend);
  }
}

/** A backend's coordinates as a point; undefined when missing or out of range. */
export function backendPoint(backend: Backend): GeoPoint | undefined {
  return GeoPoint.from(backend.latitude, backend.longitude);
}

/** Backends with valid coordinates, grouped by exact coordinates. */
export function groupBySite(backends: readonly Backend[]): BackendGroup[] {
  const sites = new Map<string, { region: string | undefined; backends: Backend[]; point: GeoPoint }>();
  for (const backend of backends) {
    const point = backendPoint(backend);
    if (!point) continue;
    const key = `${point.latitude},${point.longitude}`;
    const site = sites.get(key);
    if (site) site.backends.push(backend);
    else sites.set(key, { region: backend.region, backends: [backend], point });
  }
  return [...sites.values()].map((site) => new BackendGroup(site.region, site.backends, site.point));
}

/**
 * Backends grouped by region name; each region's point is the centroid (mean
 * on the sphere) of its backends' coordinates. Backends without a region are
 * left out.
 */
export function groupByRegion(backends: readonly Backend[]): Map<string, BackendGroup> {
  const members = new Map<string, Backend[]>();
  for (const backend of backends) {
    if (backend.region === undefined) continue;
    const list = members.get(backend.region);
    if (list) list.push(backend);
    else members.set(backend.region, [backend]);
  }
  const regions = new Map<string, BackendGroup>();
  for (const [region, list] of members) {
    const points = list.map(backendPoint).filter((point): point is GeoPoint => point !== undefined);
    regions.set(region, new BackendGroup(region, list, GeoPoint.centroid(points)));
  }
  return regions;
}

/** Maps each backend to the group holding it, for routing `loadChanged`. */
export function groupsByBackend(groups: Iterable<BackendGroup>): Map<Backend, BackendGroup> {
  const byBackend = new Map<Backend, BackendGroup>();
  for (const group of groups) for (const backend of group.backends) byBackend.set(backend, group);
  return byBackend;
}

/** Finds the nearest group (to an origin point) that has an accepted backend. */
export class NearestGroupPicker {
  /** The groups that have a point, in build order. */
  readonly groups: readonly BackendGroup[];
  /** Index of the nearest group on the last `pick`, with an accepted backend or not; -1 when none. */
  nearestGroup = -1;
  /** Unit vectors, x y z per group. */
  readonly #xyz: Float64Array;
  readonly #dots: Float64Array;
  readonly #order: Int32Array;
  readonly #nearerFirst = (a: number, b: number): number =>
    (this.#dots[b] as number) - (this.#dots[a] as number);

  /** Groups without a point are ignored. */
  constructor(groups: Iterable<BackendGroup>) {
    this.groups = [...groups].filter((group) => group.point !== undefined);
    const count = this.groups.length;
    this.#xyz = new Float64Array(3 * count);
    this.#dots = new Float64Array(count);
    this.#order = new Int32Array(count);
    this.groups.forEach((group, i) => {
      const point = group.point as GeoPoint;
      this.#xyz[3 * i] = point.x;
      this.#xyz[3 * i + 1] = point.y;
      this.#xyz[3 * i + 2] = point.z;
    });
  }

  /**
   * The least-loaded accepted backend of the nearest group that has one
   * (skipping `exclude`); groups at exactly the same distance compete on load.
   */
  pick(origin: GeoPoint, accept: Accept, exclude?: BackendGroup): Backend | undefined {
    const groups = this.groups;
    const count = groups.length;
    const xyz = this.#xyz;
    const dots = this.#dots;
    const { x, y, z } = origin;
    let nearest = -1;
    let nearestDot = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let i = 0, j = 0; i < count; i++, j += 3) {
      const dot =
        groups[i] === exclude
          ? Number.NEGATIVE_INFINITY
          : (xyz[j] as number) * x + (xyz[j + 1] as number) * y + (xyz[j + 2] as number) * z;
      dots[i] = dot;
      if (dot > nearestDot) {
        nearest = i;
        nearestDot = dot;
        ties = 1;
      } else if (dot === nearestDot) {
        ties++;
      }
    }
    this.nearestGroup = nearest;
    if (nearestDot === Number.NEGATIVE_INFINITY) return undefined;
    if (ties === 1) {
      const backend = (groups[nearest] as BackendGroup).pick(accept);
      if (backend) return backend;
    }
    return this.#byDistance(accept);
  }

  /**
   * The slow path (nearest group exhausted, or a tie): groups in order of
   * distance; among groups at one distance, the least loaded candidate.
   */
  #byDistance(accept: Accept): Backend | undefined {
    const order = this.#order;
    const dots = this.#dots;
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort(this.#nearerFirst);
    let best: Backend | undefined;
    let bestDot = Number.NEGATIVE_INFINITY;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let k = 0; k < order.length; k++) {
      const index = order[k] as number;
      const dot = dots[index] as number;
      // Excluded groups sort last; past the best candidate's distance nothing can win.
      if (dot === Number.NEGATIVE_INFINITY || (best && dot < bestDot)) break;
      const backend = (this.groups[index] as BackendGroup).pick(accept);
      if (!backend) continue;
      const load = inFlightPerWeight(backend);
      if (!best || load < bestLoad) {
        best = backend;
        bestDot = dot;
        bestLoad = load;
      }
    }
    return best;
  }
}

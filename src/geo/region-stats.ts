/**
 * Per-region routing counters kept by the geo-aware selectors: `requests`
 * (attempts routed to a backend in the region, retries included) and
 * `failovers` (requests that had to leave the client's own region because no
 * backend there could take them, counted against that region, once per
 * request). Read through `regionStats()` by admin and metrics.
 */
import type { Backend } from "../core/backend.js";

export interface RegionCounters {
  requests: number;
  failovers: number;
}

/** A selector that keeps per-region counters. */
export interface RegionStatsSource {
  regionStats(): Record<string, RegionCounters>;
}

export function hasRegionStats(value: object): value is RegionStatsSource {
  return typeof (value as Partial<RegionStatsSource>).regionStats === "function";
}

export class RegionStats {
  readonly #counters = new Map<string, RegionCounters>();

  /**
   * Counts an attempt on `backend` for a client whose own region is `home`:
   * routed to the backend's region, and a failover for `home` when this is
   * the request's first attempt outside it.
   */
  record(backend: Backend, home: string | undefined, tried: readonly Backend[]): void {
    if (backend.region !== undefined) this.routed(backend.region);
    if (home !== undefined && backend.region !== home && !leftRegionBefore(tried, home))
      this.failedOver(home);
  }

  /** An attempt went to a backend in `region`. */
  routed(region: string): void {
    this.#counter(region).requests++;
  }

  /** A request from `region` was sent elsewhere. */
  failedOver(region: string): void {
    this.#counter(region).failovers++;
  }

  /** A copy of the counters, regions in first-seen order. */
  snapshot(): Record<string, RegionCounters> {
    const out: Record<string, RegionCounters> = {};
    for (const [region, counter] of this.#counters) out[region] = { ...counter };
    return out;
  }

  #counter(region: string): RegionCounters {
    let counter = this.#counters.get(region);
    if (counter === undefined) {
      counter = { requests: 0, failovers: 0 };
      this.#counters.set(region, counter);
    }
    return counter;
  }
}

/** True when an attempt of this request already went outside `region`. */
function leftRegionBefore(tried: readonly Backend[], region: string): boolean {
  for (let i = 0; i < tried.length; i++) {
    if ((tried[i] as Backend).region !== region) return true;
  }
  return false;
}

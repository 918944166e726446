/**
 * Shared test fixtures for the geo selectors: data-centre sites, client
 * cities, and a pool whose backends sit in named regions. Test support only.
 */
import type { BackendSpec } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { Pool } from "../core/pool.js";

export const SITES = {
  dublin: { region: "eu-west", latitude: 53.3498, longitude: -6.2603 },
  frankfurt: { region: "eu-central", latitude: 50.1109, longitude: 8.6821 },
  virginia: { region: "us-east", latitude: 39.0438, longitude: -77.4874 },
  oregon: { region: "us-west", latitude: 45.5946, longitude: -121.1787 },
  tokyo: { region: "ap-northeast", latitude: 35.6762, longitude: 139.6503 },
} as const;

export const CITIES = {
  london: [51.5074, -0.1278],
  paris: [48.8566, 2.3522],
  newYork: [40.7128, -74.006],
  sanFrancisco: [37.7749, -122.4194],
  sydney: [-33.8688, 151.2093],
  mumbai: [19.076, 72.8777],
} as const;

/** The peer every test request comes from; trusted by `TRUSTED_PROXIES`. */
export const PROXY_IP = "10.0.0.1";
export const TRUSTED_PROXIES = ["10.0.0.0/8"];

/** A request from a trusted proxy vouching for the client's coordinates and/or region. */
export function client(where: { at?: readonly [number, number]; region?: string }): RequestContext {
  const headers: Record<string, string> = {};
  if (where.at) headers["x-client-geo"] = `${where.at[0]},${where.at[1]}`;
  if (where.region) headers["x-client-region"] = where.region;
  return { clientIp: PROXY_IP, headers };
}

/** A pool with `count[site]` backends at each site, ids `site-0`, `site-1`, ... */
export function sitePool(
  count: Partial<Record<keyof typeof SITES, number>>,
  extra: BackendSpec[] = [],
): Pool {
  const pool = new Pool();
  let port = 20_000;
  for (const [site, n] of Object.entries(count)) {
    for (let i = 0; i < (n ?? 0); i++) {
      pool.add({ id: `${site}-${i}`, address: `127.0.0.1:${port++}`, ...SITES[site as keyof typeof SITES] });
    }
  }
  for (const spec of extra) pool.add(spec);
  return pool;
}

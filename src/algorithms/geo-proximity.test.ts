import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { Pool } from "../core/pool.js";
import { acceptReady } from "../core/selector.js";
import { GeoResolver } from "../geo/client-location.js";
import { CITIES, client, PROXY_IP, SITES, sitePool, TRUSTED_PROXIES } from "../geo/geo.case.js";
import { haversineKm } from "../geo/haversine.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { GeoProximitySelector, geoProximity } from "./geo-proximity.js";
import { follow, runSelectorSuite, testEnv, triedOrder } from "./selector.case.js";

const resolver = new GeoResolver({ trustedProxies: TRUSTED_PROXIES, database: false });
const create = () => new GeoProximitySelector(resolver);

runSelectorSuite("geo-proximity", { create, weighted: true });

describe("geo-proximity", () => {
  const pool = () => sitePool({ dublin: 2, frankfurt: 2, virginia: 2, oregon: 1, tokyo: 1 });

  it("picks the backend nearest the client", () => {
    const selector = follow(pool(), create()) as GeoProximitySelector;
    const site = (at: readonly [number, number]) =>
      selector.pick(client({ at }), acceptReady)?.id.split("-")[0];
    expect(site(CITIES.london)).toBe("dublin");
    expect(site(CITIES.paris)).toBe("frankfurt");
    expect(site(CITIES.newYork)).toBe("virginia");
    expect(site(CITIES.sanFrancisco)).toBe("oregon");
    expect(site(CITIES.sydney)).toBe("tokyo");
    expect(selector.describe(selector.pick(client({ at: CITIES.london }), acceptReady) as Backend)).toMatch(
      /^nearest ready backend, \d+ km from the client/,
    );
  });

  it("breaks a distance tie by least in flight, rotating equal loads", () => {
    const p = pool();
    const selector = follow(p, create());
    const [a, b] = [p.require("dublin-0"), p.require("dublin-1")];
    a.inFlight = 3;
    selector.loadChanged?.(a);
    expect(selector.pick(client({ at: CITIES.london }), acceptReady)).toBe(b);
    a.inFlight = 0;
    selector.loadChanged?.(a);
    const ids = new Set(
      Array.from({ length: 10 }, () => selector.pick(client({ at: CITIES.london }), acceptReady)?.id),
    );
    expect(ids).toEqual(new Set(["dublin-0", "dublin-1"]));
  });

  it("walks backends nearest first as candidates are tried", () => {
    const selector = follow(pool(), create()) as GeoProximitySelector;
    const order = triedOrder(selector, client({ at: CITIES.london })).map((id) => id.split("-")[0]);
    expect(order).toEqual([
      "dublin",
      "dublin",
      "frankfurt",
      "frankfurt",
      "virginia",
      "virginia",
      "oregon",
      "tokyo",
    ]);
  });

  it("skips a site that is down and counts the region failover once per request", () => {
    const p = pool();
    const selector = follow(p, create()) as GeoProximitySelector;
    p.setState("dublin-0", "unhealthy");
    p.disable("dublin-1");
    for (let i = 0; i < 5; i++)
      expect(selector.pick(client({ at: CITIES.london }), acceptReady)?.region).toBe("eu-central");
    triedOrder(selector, client({ at: CITIES.london }));
    expect(selector.regionStats()).toMatchObject({
      "eu-west": { requests: 0, failovers: 6 },
      "eu-central": { requests: 7, failovers: 0 },
    });
  });

  it("places a client known only by region at that region's centroid", () => {
    const selector = follow(pool(), create());
    expect(selector.pick(client({ region: "us-west" }), acceptReady)?.id).toBe("oregon-0");
    expect(selector.pick(client({ region: "ap-northeast" }), acceptReady)?.id).toBe("tokyo-0");
  });

  it("falls back to least in flight for clients without a location", () => {
    const p = pool();
    const selector = follow(p, create());
    for (const backend of p.backends) backend.inFlight = 5;
    p.require("tokyo-0").inFlight = 0;
    for (const backend of p.backends) selector.loadChanged?.(backend);
    const unknown = [{}, { clientIp: "203.0.113.1" }, client({ region: "mars" }), { clientIp: PROXY_IP }];
    for (const ctx of unknown) expect(selector.pick(ctx, acceptReady)?.id).toBe("tokyo-0");
    expect(selector.describe(p.require("tokyo-0"))).toMatch(/client location unknown; least in flight/);
  });

  it("reaches backends without usable coordinates only after every located one", () => {
    const p = sitePool({ dublin: 1 }, [
      { id: "nowhere", address: "127.0.0.1:21000" },
      { id: "bad-coords", address: "127.0.0.1:21001", latitude: 200, longitude: 0 },
    ]);
    const selector = follow(p, create()) as GeoProximitySelector;
    expect(triedOrder(selector, client({ at: CITIES.sydney }))[0]).toBe("dublin-0");
    p.setState("dublin-0", "unhealthy");
    expect(["nowhere", "bad-coords"]).toContain(
      selector.pick(client({ at: CITIES.sydney }), acceptReady)?.id,
    );
  });

  it("always picks a ready backend at the least distance, then the least load", () => {
    const siteNames = Object.keys(SITES) as (keyof typeof SITES)[];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            site: fc.constantFrom(...siteNames),
            ready: fc.boolean(),
            inFlight: fc.nat(4),
            weight: fc.integer({ min: 1, max: 3 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.double({ min: -90, max: 90, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        (specs, latitude, longitude) => {
          const p = new Pool();
          specs.forEach((spec, i) => {
            const backend = p.add({
              id: `b${i}`,
              address: `127.0.0.1:${30_000 + i}`,
              weight: spec.weight,
              ...SITES[spec.site],
            });
            backend.inFlight = spec.inFlight;
            if (!spec.ready) p.setState(backend.id, "unhealthy");
          });
          const selector = follow(p, new GeoProximitySelector(resolver));
          for (const backend of p.backends) selector.loadChanged?.(backend);
          const picked = selector.pick(client({ at: [latitude, longitude] }), acceptReady);
          const ready = p.backends.filter((backend) => backend.ready);
          if (ready.length === 0) {
            expect(picked).toBeUndefined();
            return;
          }
          const distance = (backend: Backend) =>
            haversineKm(latitude, longitude, backend.latitude as number, backend.longitude as number);
          const best = Math.min(...ready.map(distance));
          const atBest = ready.filter((backend) => Math.abs(distance(backend) - best) < 1e-6);
          expect(atBest).toContain(picked);
          expect(inFlightPerWeight(picked as Backend)).toBe(Math.min(...atBest.map(inFlightPerWeight)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is built from its options", () => {
    const options = geoProximity.options.parse({ geo: { trustedProxies: TRUSTED_PROXIES, database: false } });
    const selector = geoProximity.create(options, testEnv()) as GeoProximitySelector;
    expect(selector.name).toBe("geo-proximity");
    expect(selector.resolver.isTrustedProxy("10.9.9.9")).toBe(true);
    expect(geoProximity.options.safeParse({ geo: { cacheSize: -1 } }).success).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady } from "../core/selector.js";
import { GeoResolver } from "../geo/client-location.js";
import { CITIES, client, sitePool, TRUSTED_PROXIES } from "../geo/geo.case.js";
import { GeographicalSelector, geographical } from "./geographical.js";
import { follow, runSelectorSuite, testEnv, triedOrder } from "./selector.case.js";

const resolver = new GeoResolver({ trustedProxies: TRUSTED_PROXIES, database: false });
const create = () => new GeographicalSelector(resolver);

runSelectorSuite("geographical", { create, weighted: true });

/** eu-west (Dublin) ×2, eu-central (Frankfurt) ×2, us-east (Virginia) ×2, a "lab" region without coordinates, and one backend without a region. */
function regionPool() {
  return sitePool({ dublin: 2, frankfurt: 2, virginia: 2 }, [
    { id: "lab-0", address: "127.0.0.1:21000", region: "lab" },
    { id: "loose", address: "127.0.0.1:21001" },
  ]);
}

const regionOf = (id: string | undefined) =>
  ({ dublin: "eu-west", frankfurt: "eu-central", virginia: "us-east" })[id?.split("-")[0] ?? ""] ?? id;

describe("geographical", () => {
  it("keeps a client in its own region, even when another is nearer its coordinates", () => {
    const selector = follow(regionPool(), create()) as GeographicalSelector;
    const fromTokyo = client({ region: "us-east", at: [35.68, 139.65] });
    for (let i = 0; i < 20; i++) expect(selector.pick(fromTokyo, acceptReady)?.region).toBe("us-east");
    expect(selector.describe(selector.pick(fromTokyo, acceptReady) as Backend)).toMatch(
      /^client's region us-east/,
    );
  });

  it("balances by least in flight inside the region", () => {
    const pool = regionPool();
    const selector = follow(pool, create());
    pool.require("dublin-0").inFlight = 2;
    selector.loadChanged?.(pool.require("dublin-0"));
    expect(selector.pick(client({ region: "eu-west" }), acceptReady)?.id).toBe("dublin-1");
    pool.require("dublin-0").inFlight = 0;
    selector.loadChanged?.(pool.require("dublin-0"));
    const ids = new Set(
      Array.from({ length: 10 }, () => selector.pick(client({ region: "eu-west" }), acceptReady)?.id),
    );
    expect(ids).toEqual(new Set(["dublin-0", "dublin-1"]));
  });

  it("fails a region that is down over to the nearest healthy region, counting each request once", () => {
    const pool = regionPool();
    const selector = follow(pool, create()) as GeographicalSelector;
    pool.setState("dublin-0", "unhealthy");
    pool.setState("dublin-1", "draining");
    for (let i = 0; i < 10; i++)
      expect(selector.pick(client({ region: "eu-west" }), acceptReady)?.region).toBe("eu-central");
    expect(selector.describe(pool.require("frankfurt-0"))).toMatch(
      /nearest region .* client's region eu-west: eu-central/,
    );
    expect(selector.regionStats()["eu-west"]).toEqual({ requests: 0, failovers: 10 });
    pool.setState("dublin-0", "healthy");
    expect(selector.pick(client({ region: "eu-west" }), acceptReady)?.id).toBe("dublin-0");
    expect(selector.regionStats()["eu-west"]).toEqual({ requests: 1, failovers: 10 });
  });

  it("walks own region, then regions by distance, then the rest", () => {
    const selector = follow(regionPool(), create()) as GeographicalSelector;
    const order = triedOrder(selector, client({ region: "eu-west" })).map(regionOf);
    expect(order.slice(0, 6)).toEqual([
      "eu-west",
      "eu-west",
      "eu-central",
      "eu-central",
      "us-east",
      "us-east",
    ]);
    expect(new Set(order.slice(6))).toEqual(new Set(["lab-0", "loose"]));
    // One request left eu-west (several candidates outside it): one failover.
    expect(selector.regionStats()["eu-west"]?.failovers).toBe(1);
    expect(regionOf(triedOrder(selector, client({ region: "us-east" }))[2])).toBe("eu-west");
  });

  it("sends a client whose region has no backends to the region nearest its coordinates", () => {
    const selector = follow(regionPool(), create()) as GeographicalSelector;
    expect(selector.pick(client({ region: "ap-south", at: CITIES.mumbai }), acceptReady)?.region).toBe(
      "eu-central",
    );
    expect(selector.pick(client({ at: CITIES.newYork }), acceptReady)?.region).toBe("us-east");
    expect(selector.pick(client({ at: CITIES.london }), acceptReady)?.region).toBe("eu-west");
    expect(selector.regionStats()["ap-south"]).toBeUndefined();
  });

  it("uses any ready backend when no located region can serve", () => {
    const pool = regionPool();
    const selector = follow(pool, create()) as GeographicalSelector;
    for (const id of ["dublin-0", "dublin-1", "frankfurt-0", "frankfurt-1", "virginia-0", "virginia-1"])
      pool.disable(id);
    expect(["lab-0", "loose"]).toContain(selector.pick(client({ region: "eu-west" }), acceptReady)?.id);
    expect(selector.describe(pool.require("loose"))).toMatch(
      /no ready backend near eu-west; least in flight/,
    );
    expect(selector.pick(client({ region: "lab" }), acceptReady)?.id).toBe("lab-0");
  });

  it("treats clients without a location as least in flight over the pool", () => {
    const pool = regionPool();
    const selector = follow(pool, create());
    for (const backend of pool.backends) backend.inFlight = 3;
    pool.require("virginia-1").inFlight = 1;
    for (const backend of pool.backends) selector.loadChanged?.(backend);
    expect(selector.pick({}, acceptReady)?.id).toBe("virginia-1");
    expect(selector.pick({ clientIp: "198.51.100.4" }, acceptReady)?.id).toBe("virginia-1");
    expect(selector.describe(pool.require("virginia-1"))).toMatch(/client region unknown/);
  });

  it("is built from its options", () => {
    const options = geographical.options.parse({
      geo: {
        trustedProxies: TRUSTED_PROXIES,
        database: false,
        cidrRegions: [{ cidr: "192.0.2.0/24", region: "us-east" }],
      },
    });
    const selector = geographical.create(options, testEnv()) as GeographicalSelector;
    follow(regionPool(), selector);
    expect(selector.pick({ clientIp: "192.0.2.77" }, acceptReady)?.region).toBe("us-east");
  });
});

import { describe, expect, it } from "vitest";
import { isSwitchyardError } from "../core/errors.js";
import { GeoResolver, UNKNOWN_LOCATION } from "./client-location.js";

const TRUSTED = ["10.0.0.0/8", "::1"];

describe("GeoResolver: trusted headers", () => {
  const resolver = new GeoResolver({ trustedProxies: TRUSTED, database: false });

  it("believes X-Client-Region and X-Client-Geo from a trusted proxy", () => {
    const fromProxy = (headers: Record<string, string | string[]>) =>
      resolver.resolve({ clientIp: "10.1.2.3", headers });
    expect(fromProxy({ "x-client-region": "eu-west" })).toMatchObject({
      source: "header",
      region: "eu-west",
    });
    expect(fromProxy({ "x-client-geo": "51.5074, -0.1278" })).toMatchObject({
      source: "header",
      latitude: 51.5074,
      longitude: -0.1278,
    });
    expect(fromProxy({ "x-client-region": "eu-west", "x-client-geo": "48.86,2.35" })).toMatchObject({
      source: "header",
      region: "eu-west",
      latitude: 48.86,
      longitude: 2.35,
    });
    expect(fromProxy({ "x-client-region": ["ap-south", "eu-west"] }).region).toBe("ap-south");
    expect(resolver.resolve({ clientIp: "::1", headers: { "x-client-region": "local" } }).region).toBe(
      "local",
    );
  });

  it("ignores the headers from any other peer", () => {
    for (const clientIp of ["203.0.113.9", "11.0.0.1", "::2"]) {
      const location = resolver.resolve({
        clientIp,
        headers: { "x-client-region": "eu-west", "x-client-geo": "1,2" },
      });
      expect(location).toBe(UNKNOWN_LOCATION);
    }
    const none = new GeoResolver({ database: false });
    expect(none.resolve({ clientIp: "127.0.0.1", headers: { "x-client-region": "eu-west" } }).source).toBe(
      "none",
    );
  });

  it("skips malformed or out-of-range header values", () => {
    for (const geo of ["91,0", "0,181", "abc,def", "51.5", ",", "1,2,3", "NaN,1", " , 5"]) {
      expect(resolver.resolve({ clientIp: "10.0.0.1", headers: { "x-client-geo": geo } }).source).toBe(
        "none",
      );
    }
    for (const region of ["", "eu west", "<script>", "x".repeat(101)]) {
      expect(resolver.resolve({ clientIp: "10.0.0.1", headers: { "x-client-region": region } }).source).toBe(
        "none",
      );
    }
    // A bad geo header does not spoil a good region header.
    expect(
      resolver.resolve({
        clientIp: "10.0.0.1",
        headers: { "x-client-region": "eu-west", "x-client-geo": "999,1" },
      }),
    ).toMatchObject({ source: "header", region: "eu-west" });
  });

  it("returns the same frozen object for a repeated header value", () => {
    const a = resolver.resolve({ clientIp: "10.0.0.1", headers: { "x-client-region": "us-east" } });
    const b = resolver.resolve({ clientIp: "10.0.0.2", headers: { "x-client-region": "us-east" } });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe("GeoResolver: CIDR map", () => {
  const resolver = new GeoResolver({
    database: false,
    cidrRegions: [
      { cidr: "198.51.100.0/24", region: "us-east", latitude: 39.04, longitude: -77.49 },
      { cidr: "198.51.100.128/25", region: "us-east-edge" },
      { cidr: "2001:db8::/32", region: "eu-west", latitude: 53.35, longitude: -6.26 },
    ],
  });

  it("maps an address to the most specific block's region and coordinates", () => {
    expect(resolver.lookupIp("198.51.100.7")).toMatchObject({
      source: "cidr",
      region: "us-east",
      latitude: 39.04,
      longitude: -77.49,
    });
    const edge = resolver.lookupIp("198.51.100.200");
    expect(edge).toMatchObject({ source: "cidr", region: "us-east-edge" });
    expect(edge.point).toBeUndefined();
    expect(resolver.resolve({ clientIp: "2001:db8:42::1" })).toMatchObject({
      source: "cidr",
      region: "eu-west",
    });
    expect(resolver.resolve({ clientIp: "::ffff:198.51.100.7" }).region).toBe("us-east");
    expect(resolver.resolve({ clientIp: "192.0.2.1" })).toBe(UNKNOWN_LOCATION);
    expect(resolver.resolve({})).toBe(UNKNOWN_LOCATION);
  });

  it("prefers a trusted header over the map", () => {
    const behindProxy = new GeoResolver({
      database: false,
      trustedProxies: ["198.51.100.0/24"],
      cidrRegions: [{ cidr: "198.51.100.0/24", region: "us-east" }],
    });
    expect(
      behindProxy.resolve({ clientIp: "198.51.100.1", headers: { "x-client-region": "eu-west" } }).region,
    ).toBe("eu-west");
    expect(behindProxy.resolve({ clientIp: "198.51.100.1", headers: {} }).region).toBe("us-east");
  });
});

describe("GeoResolver: GeoIP (shipped database)", () => {
  it("maps the country to its continent's default region and representative point", () => {
    const resolver = new GeoResolver();
    const google = resolver.resolve({ clientIp: "8.8.8.8" });
    expect(google).toMatchObject({ source: "geoip", country: "US", region: "north-america" });
    expect(google.latitude).toBeCloseTo(37.5, 0);
    expect(resolver.resolve({ clientIp: "193.0.0.1" })).toMatchObject({ country: "NL", region: "europe" });
    expect(resolver.resolve({ clientIp: "133.11.0.1" })).toMatchObject({ country: "JP", region: "asia" });
    expect(resolver.resolve({ clientIp: "10.0.0.1" })).toBe(UNKNOWN_LOCATION);
  });

  it("lets countryRegions override continentRegions, which override the default names", () => {
    const resolver = new GeoResolver({
      countryRegions: { us: "us-east", GB: "eu-london" },
      continentRegions: { EU: "eu-west", AS: "ap-northeast" },
    });
    expect(resolver.lookupIp("8.8.8.8").region).toBe("us-east");
    expect(resolver.lookupIp("81.2.69.142").region).toBe("eu-london");
    expect(resolver.lookupIp("193.0.0.1").region).toBe("eu-west");
    expect(resolver.lookupIp("2001:200::1").region).toBe("ap-northeast");
    expect(resolver.lookupIp("200.160.0.8").region).toBe("south-america");
  });

  it("puts the CIDR map before GeoIP", () => {
    const resolver = new GeoResolver({ cidrRegions: [{ cidr: "8.8.8.0/24", region: "anycast" }] });
    expect(resolver.lookupIp("8.8.8.8")).toMatchObject({ source: "cidr", region: "anycast" });
    expect(resolver.lookupIp("8.8.4.4")).toMatchObject({ source: "geoip", country: "US" });
  });

  it("locates the forwarded client behind a trusted proxy that sent no location header", () => {
    const resolver = new GeoResolver({ trustedProxies: ["127.0.0.1", "10.0.0.0/8"] });
    const viaProxies = { "x-forwarded-for": "192.0.2.50, 193.0.0.1, 10.0.0.7" };
    expect(resolver.resolve({ clientIp: "127.0.0.1", headers: viaProxies })).toMatchObject({ country: "NL" });
    // From an untrusted peer, X-Forwarded-For is the client's own claim: ignored.
    expect(resolver.resolve({ clientIp: "8.8.8.8", headers: viaProxies })).toMatchObject({ country: "US" });
  });
});

describe("GeoResolver: cache", () => {
  it("stays within its bound and serves repeats from the cache", () => {
    const resolver = new GeoResolver({ cacheSize: 50 });
    for (let i = 0; i < 2000; i++) resolver.lookupIp(`81.2.${i >> 8}.${i & 255}`);
    expect(resolver.cacheStats()).toMatchObject({ size: 50, capacity: 50, hits: 0, misses: 2000 });
    const first = resolver.lookupIp("8.8.8.8");
    expect(resolver.lookupIp("8.8.8.8")).toBe(first);
    expect(resolver.lookupIp("::ffff:8.8.8.8")).toBe(first);
    expect(resolver.cacheStats().hits).toBe(2);
  });

  it("works with caching off", () => {
    const resolver = new GeoResolver({ cacheSize: 0 });
    expect(resolver.lookupIp("8.8.8.8").country).toBe("US");
    expect(resolver.lookupIp("8.8.8.8").country).toBe("US");
    expect(resolver.cacheStats()).toMatchObject({ size: 0, hits: 0, misses: 2 });
  });
});

describe("GeoResolver: validation", () => {
  it("names the bad field in a coded error", () => {
    const attempt = (options: object) => {
      try {
        new GeoResolver(options);
      } catch (error) {
        if (isSwitchyardError(error, "SY_ERR_INVALID_OPTIONS")) return error.message;
        throw error;
      }
      throw new Error("expected the options to be rejected");
    };
    expect(
      attempt({ cidrRegions: [{ cidr: "10.0.0.0/8", region: "x", latitude: 95, longitude: 0 }] }),
    ).toContain("geo.cidrRegions.0.latitude: expected a number from -90 to 90");
    expect(attempt({ database: "/nonexistent/geo.mmdb" })).toContain(
      'geo.database: cannot open the GeoIP database "/nonexistent/geo.mmdb": ENOENT',
    );
    expect(attempt({ trustedProxies: ["10.0.0.0/40"] })).toContain(
      "geo.trustedProxies.0: expected a prefix length",
    );
  });
});

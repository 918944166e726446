import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EARTH_RADIUS_KM, GeoPoint, haversineKm, isLatitude, isLongitude } from "./haversine.js";

/** City-centre coordinates (decimal degrees) as published for each city's centre. */
const LONDON = [51.5074, -0.1278] as const;
const PARIS = [48.8566, 2.3522] as const;
const NEW_YORK = [40.7128, -74.006] as const;
const LOS_ANGELES = [34.0522, -118.2437] as const;
const SYDNEY = [-33.8688, 151.2093] as const;
const TOKYO = [35.6762, 139.6503] as const;

/**
 * Each pair: the spherical distance at R = 6371.0088 km (what the haversine
 * formula must return; reproduce with any haversine calculator, e.g. Movable
 * Type's "Calculate distance between two latitude/longitude points") and the
 * WGS-84 ellipsoidal geodesic (Vincenty's inverse formula, T. Vincenty,
 * Survey Review 23(176), 1975), the "true" distance the sphere approximates
 * within 0.5%. The commonly quoted Sydney–Tokyo 7792 km is the ellipsoidal one.
 */
const PAIRS = [
  { name: "London–Paris", a: LONDON, b: PARIS, sphereKm: 343.56, geodesicKm: 343.92 },
  { name: "New York–Los Angeles", a: NEW_YORK, b: LOS_ANGELES, sphereKm: 3935.75, geodesicKm: 3944.42 },
  { name: "Sydney–Tokyo", a: SYDNEY, b: TOKYO, sphereKm: 7825.83, geodesicKm: 7792.17 },
] as const;

const latitude = fc.double({ min: -90, max: 90, noNaN: true });
const longitude = fc.double({ min: -180, max: 180, noNaN: true });
const point = fc.tuple(latitude, longitude).map(([lat, lon]) => new GeoPoint(lat, lon));

describe("haversineKm", () => {
  for (const pair of PAIRS) {
    it(`measures ${pair.name}`, () => {
      const km = haversineKm(pair.a[0], pair.a[1], pair.b[0], pair.b[1]);
      expect(km).toBeCloseTo(pair.sphereKm, 1);
      expect(Math.abs(km - pair.geodesicKm) / pair.geodesicKm).toBeLessThan(0.005);
    });
  }

  it("is zero at one place, symmetric, and πR between antipodes", () => {
    expect(haversineKm(LONDON[0], LONDON[1], LONDON[0], LONDON[1])).toBe(0);
    expect(haversineKm(PARIS[0], PARIS[1], TOKYO[0], TOKYO[1])).toBe(
      haversineKm(TOKYO[0], TOKYO[1], PARIS[0], PARIS[1]),
    );
    expect(haversineKm(0, 0, 0, 180)).toBeCloseTo(Math.PI * EARTH_RADIUS_KM, 6);
    expect(haversineKm(90, 0, -90, 0)).toBeCloseTo(Math.PI * EARTH_RADIUS_KM, 6);
  });

  it("treats the antimeridian as the short way round", () => {
    // 1° of longitude on the equator, across ±180.
    expect(haversineKm(0, 179.5, 0, -179.5)).toBeCloseTo((Math.PI / 180) * EARTH_RADIUS_KM, 6);
  });

  it("obeys the triangle inequality and stays within [0, πR]", () => {
    fc.assert(
      fc.property(point, point, point, (a, b, c) => {
        const ab = a.distanceKm(b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(Math.PI * EARTH_RADIUS_KM + 1e-6);
        // Near-antipodal points lose digits in the haversine; allow a millimetre.
        expect(ab).toBeLessThanOrEqual(a.distanceKm(c) + c.distanceKm(b) + 1e-6 * Math.PI * EARTH_RADIUS_KM);
      }),
    );
  });
});

describe("GeoPoint", () => {
  it("orders candidates by dot product exactly as by distance", () => {
    fc.assert(
      fc.property(point, point, point, (origin, b, c) => {
        const byDistance = Math.sign(origin.distanceKm(c) - origin.distanceKm(b));
        const byDot = Math.sign(origin.dot(b) - origin.dot(c));
        // Equal up to rounding: only compare when the distances differ by more than a metre.
        if (Math.abs(origin.distanceKm(c) - origin.distanceKm(b)) > 1e-3) expect(byDot).toBe(byDistance);
      }),
    );
  });

  it("centres a group on the sphere, also across the antimeridian", () => {
    const europe = GeoPoint.centroid([new GeoPoint(...LONDON), new GeoPoint(...PARIS)]);
    expect(europe?.latitude).toBeCloseTo(50.19, 1);
    expect(europe?.longitude).toBeCloseTo(1.1, 1);
    const pacific = GeoPoint.centroid([new GeoPoint(-18, 179), new GeoPoint(-18, -179)]);
    expect(pacific?.latitude).toBeCloseTo(-18, 2);
    expect(Math.abs(pacific?.longitude ?? 0)).toBeCloseTo(180, 3);
    expect(GeoPoint.centroid([])).toBeUndefined();
    expect(GeoPoint.centroid([new GeoPoint(0, 0), new GeoPoint(0, 180)])).toBeUndefined();
  });

  it("accepts only coordinates in range", () => {
    expect(GeoPoint.from(51.5, -0.1)).toBeInstanceOf(GeoPoint);
    expect(GeoPoint.from(91, 0)).toBeUndefined();
    expect(GeoPoint.from(0, -180.5)).toBeUndefined();
    expect(GeoPoint.from(Number.NaN, 0)).toBeUndefined();
    expect(GeoPoint.from("51", 0)).toBeUndefined();
    expect(isLatitude(-90) && isLatitude(90) && !isLatitude(Number.POSITIVE_INFINITY)).toBe(true);
    expect(isLongitude(-180) && isLongitude(180) && !isLongitude(181)).toBe(true);
  });
});

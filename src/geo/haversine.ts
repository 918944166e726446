/**
 * Great-circle distance on a spherical Earth (the haversine formula, R. W.
 * Sinnott, "Virtues of the Haversine", Sky & Telescope 68(2), 1984), with the
 * IUGG mean Earth radius R₁ = 6371.0088 km (H. Moritz, "Geodetic Reference
 * System 1980", Journal of Geodesy 74, 2000). A sphere is within about 0.5% of
 * the WGS-84 ellipsoid's geodesic, far finer than a country-level location.
 *
 * `GeoPoint` keeps a location's unit vector as well, so the nearest of many
 * points is found with three multiplications each (a larger dot product is a
 * shorter arc) and no trigonometry per candidate.
 */

/** IUGG mean radius of the Earth, in km. */
export const EARTH_RADIUS_KM = 6371.0088;

const RADIANS = Math.PI / 180;

/** Great-circle distance in km between two points given in decimal degrees. */
export function haversineKm(
  latitude1: number,
  longitude1: number,
  latitude2: number,
  longitude2: number,
): number {
  const phi1 = latitude1 * RADIANS;
  const phi2 = latitude2 * RADIANS;
  const sinHalfDeltaPhi = Math.sin((phi2 - phi1) / 2);
  const sinHalfDeltaLambda = Math.sin(((longitude2 - longitude1) * RADIANS) / 2);
  const a =
    sinHalfDeltaPhi * sinHalfDeltaPhi +
    Math.cos(phi1) * Math.cos(phi2) * sinHalfDeltaLambda * sinHalfDeltaLambda;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** True for a finite latitude within [-90, 90]. */
export function isLatitude(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= -90 && value <= 90;
}

/** True for a finite longitude within [-180, 180]. */
export function isLongitude(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= -180 && value <= 180;
}

/** A location in decimal degrees with its unit vector precomputed. */
export class GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
  readonly x: number;
  readonly y: number;
  readonly z: number;

  constructor(latitude: number, longitude: number) {
    this.latitude = latitude;
    this.longitude = longitude;
    const phi = latitude * RADIANS;
    const lambda = longitude * RADIANS;
    this.x = Math.cos(phi) * Math.cos(lambda);
    this.y = Math.cos(phi) * Math.sin(lambda);
    this.z = Math.sin(phi);
  }

  /** A point when both coordinates are valid, else undefined. */
  static from(latitude: unknown, longitude: unknown): GeoPoint | undefined {
    return isLatitude(latitude) && isLongitude(longitude) ? new GeoPoint(latitude, longitude) : undefined;
  }

  /**
   * The normalised mean of the points' unit vectors: the mean of their
   * coordinates taken on the sphere, so a group straddling the antimeridian
   * is centred on it rather than on the far side of the planet. Undefined for
   * no points (or points that cancel out exactly).
   */
  static centroid(points: readonly GeoPoint[]): GeoPoint | undefined {
    let x = 0;
    let y = 0;
    let z = 0;
    for (const point of points) {
      x += point.x;
      y += point.y;
      z += point.z;
    }
    const norm = Math.hypot(x, y, z);
    if (points.length === 0 || norm < 1e-12) return undefined;
    return new GeoPoint(Math.asin(Math.max(-1, Math.min(1, z / norm))) / RADIANS, Math.atan2(y, x) / RADIANS);
  }

  /** Cosine of the central angle to `other`: 1 at the same place, larger is nearer. */
  dot(other: GeoPoint): number {
    return this.x * other.x + this.y * other.y + this.z * other.z;
  }

  /** Great-circle distance to `other`, in km (haversine). */
  distanceKm(other: GeoPoint): number {
    return haversineKm(this.latitude, this.longitude, other.latitude, other.longitude);
  }
}

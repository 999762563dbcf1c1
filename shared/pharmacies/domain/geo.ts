export interface GeoPoint {
  lat: number;
  lon: number;
}

const EARTH_RADIUS_KM = 6371.0088;

const radians = (degrees: number) => (degrees * Math.PI) / 180;
const degrees = (value: number) => (value * 180) / Math.PI;

/** Great-circle distance (haversine). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = radians(b.lat - a.lat);
  const dLon = radians(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface BoundingBox {
  minLat: number;
  maxLat: number;
  minLon: number;
  maxLon: number;
}

/**
 * A lat/lon box that contains the circle, widened outward to a 0.01° grid so that nearby
 * searches share cache entries. It does not wrap the antimeridian (Brazil is far from it).
 * Measured on the sphere `distanceKm` measures on: a degree of 111.32 km (the equator's, on
 * another radius) and the centre's parallel as the circle's widest one made the box up to
 * 0.1% of the radius too narrow, so a pharmacy just inside the circle (up to ~55 m of a
 * 50 km one) could fall outside the box and never be found. The circle is widest in
 * longitude poleward of its centre: asin(sin(r) / cos(lat)) is that widest reach.
 */
export function boundingBox(center: GeoPoint, radiusKm: number): BoundingBox {
  const angle = radiusKm / EARTH_RADIUS_KM;
  const dLat = degrees(angle);
  const reach = Math.sin(angle) / Math.max(0.01, Math.cos(radians(center.lat)));
  const dLon = reach >= 1 ? 180 : degrees(Math.asin(reach));
  const down = (value: number) => Math.floor(value * 100) / 100;
  const up = (value: number) => Math.ceil(value * 100) / 100;
  return {
    minLat: Math.max(-90, down(center.lat - dLat)),
    maxLat: Math.min(90, up(center.lat + dLat)),
    minLon: Math.max(-180, down(center.lon - dLon)),
    maxLon: Math.min(180, up(center.lon + dLon)),
  };
}

/** A point as GeoJSON, which Cosmos DB's spatial index and functions read: longitude first. */
export function geoJsonPoint(point: GeoPoint): { type: 'Point'; coordinates: [number, number] } {
  return { type: 'Point', coordinates: [point.lon, point.lat] };
}

/** Whether the point lies in the box, edges included. */
export function inBox(point: GeoPoint, box: BoundingBox): boolean {
  return point.lat >= box.minLat && point.lat <= box.maxLat && point.lon >= box.minLon && point.lon <= box.maxLon;
}

/**
 * The box as a GeoJSON polygon widened by `marginDegrees` on every side. Cosmos DB reads a
 * polygon's edges as great-circle arcs, not as parallels, so a box edge 100 km long bows up
 * to ~90 m towards the pole at Brazil's latitudes; a margin wider than that keeps every point
 * of the box inside (callers cut back to the box exactly). The ring runs counter-clockwise:
 * clockwise would mean the rest of the globe.
 */
export function boxPolygon(box: BoundingBox, marginDegrees: number): { type: 'Polygon'; coordinates: [number, number][][] } {
  const south = Math.max(-90, box.minLat - marginDegrees);
  const north = Math.min(90, box.maxLat + marginDegrees);
  const west = Math.max(-180, box.minLon - marginDegrees);
  const east = Math.min(180, box.maxLon + marginDegrees);
  return {
    type: 'Polygon',
    coordinates: [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
  };
}

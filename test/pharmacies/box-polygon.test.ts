import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRAZIL_EXTENT } from '../../shared/kernel/brazil';
import { boundingBox, boxPolygon, type GeoPoint } from '../../shared/pharmacies/domain/geo';

/**
 * The local read store evaluates ST_WITHIN with a planar
 * point-in-polygon test that ignores ring orientation, so the near-box suite passes with a
 * clockwise ring too; Cosmos DB reads a clockwise ring as the rest of the globe. These
 * checks hold the polygon to what Cosmos DB accepts: one closed exterior ring, counter-
 * clockwise (interior on the left, longitude as x), no repeated vertex.
 */
const MARGIN = 0.01;

/** Twice the signed area in the lon/lat plane: positive for a counter-clockwise ring. */
function signedArea(ring: readonly (readonly [number, number])[]): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return sum;
}

function assertValidRing(center: GeoPoint, radiusKm: number) {
  const polygon = boxPolygon(boundingBox(center, radiusKm), MARGIN);
  const label = JSON.stringify({ center, radiusKm, polygon });
  assert.equal(polygon.coordinates.length, 1, `one exterior ring, no holes: ${label}`);
  const [ring] = polygon.coordinates;
  assert.ok(ring.length >= 4, label);
  assert.deepEqual(ring[0], ring[ring.length - 1], `closed: ${label}`);
  assert.ok(signedArea(ring) > 0, `counter-clockwise: ${label}`);
  const distinct = new Set(ring.slice(0, -1).map(([lon, lat]) => (Math.abs(lat) === 90 ? `pole:${lat}` : `${lon},${lat}`)));
  assert.equal(distinct.size, ring.length - 1, `no repeated vertex (a pole is one point whatever its longitude): ${label}`);
}

describe('the ST_WITHIN polygon of a searched box', () => {
  it('is one closed counter-clockwise ring for searches across Brazil', () => {
    for (const center of [
      { lat: -23.5614, lon: -46.6559 },
      { lat: 5.2, lon: -60.7 },
      { lat: -33.7, lon: -53.4 },
      { lat: 0, lon: -50 },
    ]) {
      for (const radiusKm of [0.1, 5, 50]) assertValidRing(center, radiusKm);
    }
  });

  // The searches take centres within Brazil only (BRAZIL_EXTENT): far from the poles, where a
  // widened box would reach one and its ring repeat a vertex, and from the antimeridian.
  it("stays a valid ring for every centre the API accepts, the extent's corners included", () => {
    const { minLat, maxLat, minLon, maxLon } = BRAZIL_EXTENT;
    for (const lat of [minLat, maxLat]) for (const lon of [minLon, maxLon]) assertValidRing({ lat, lon }, 50);
  });
});

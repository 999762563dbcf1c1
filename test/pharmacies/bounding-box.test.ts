import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BRAZIL_EXTENT } from '../../shared/kernel/brazil';
import { boundingBox, distanceKm, inBox, type GeoPoint } from '../../shared/pharmacies/domain/geo';

const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees: number) => (degrees * Math.PI) / 180;
const degrees = (value: number) => (value * 180) / Math.PI;

/** The point `km` away from `from` along the great circle leaving it at `bearing` (degrees from north). */
function destination(from: GeoPoint, km: number, bearing: number): GeoPoint {
  const angle = km / EARTH_RADIUS_KM;
  const lat1 = radians(from.lat);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(angle) + Math.cos(lat1) * Math.sin(angle) * Math.cos(radians(bearing)));
  const dLon = Math.atan2(Math.sin(radians(bearing)) * Math.sin(angle) * Math.cos(lat1), Math.cos(angle) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: degrees(lat2), lon: from.lon + degrees(dLon) };
}

describe('the box a "near a point" search reads', () => {
  it('given centres across Brazil and radii of 1, 5 and 50 km, then every point the distance counts in the circle lies in the box', () => {
    const missed: string[] = [];
    for (let step = 0; step < 600; step++) {
      const center = {
        lat: BRAZIL_EXTENT.minLat + ((step * 0.0683) % (BRAZIL_EXTENT.maxLat - BRAZIL_EXTENT.minLat)),
        lon: BRAZIL_EXTENT.minLon + ((step * 0.0771) % (BRAZIL_EXTENT.maxLon - BRAZIL_EXTENT.minLon)),
      };
      for (const radiusKm of [1, 5, 50]) {
        const box = boundingBox(center, radiusKm);
        for (let bearing = 0; bearing < 360; bearing += 2) {
          for (const km of [radiusKm * 0.9999, radiusKm]) {
            const point = destination(center, km, bearing);
            if (distanceKm(center, point) <= radiusKm && !inBox(point, box)) missed.push(JSON.stringify({ center, radiusKm, bearing, km }));
          }
        }
      }
    }
    assert.deepEqual(missed.slice(0, 3), [], `${missed.length} points within the radius fell outside the box`);
  });
});

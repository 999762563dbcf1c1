import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { boundingBox, distanceKm, type GeoPoint } from '../../shared/pharmacies/domain/geo';
import { activePharmaciesNear } from '../../shared/pharmacies/published';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

const CENTER = { lat: -23.5614, lon: -46.6559 };
const RADIUS_KM = 5;
const BOX = boundingBox(CENTER, RADIUS_KM);

/**
 * "Near a point" reads the pharmacies through ST_WITHIN on their GeoJSON position, with a
 * polygon a grid step wider than the box (great-circle edges); what the search gets is the
 * box's pharmacies exactly, and the circle's by distance.
 */
describe('pharmacies in a searched box, by their GeoJSON position (issue 14, item 1)', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  const ids = new Map<string, string>();
  const places: Record<string, GeoPoint> = {
    // Due east, 4.95 km away: at the circle's widest longitude, inside.
    eastEdgeOfCircle: { lat: CENTER.lat, lon: CENTER.lon + (4.95 / distanceKm(CENTER, { lat: CENTER.lat, lon: CENTER.lon + 1 })) },
    // On the box's southern edge: in the searched area, outside the circle.
    southEdgeOfBox: { lat: BOX.minLat, lon: CENTER.lon },
    // Half a grid step north of the box: inside the query's polygon, outside the box.
    northOfBox: { lat: BOX.maxLat + 0.005, lon: CENTER.lon },
    // A closed pharmacy at the centre.
    closedAtCentre: CENTER,
  };

  before(async () => {
    app = await testApp();
    for (const [name, location] of Object.entries(places)) {
      const created = await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody({ location }) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ids.set(name, created.body.id as string);
    }
    const closing = await invoke(app.handler('closePharmacy'), { method: 'POST', params: { id: ids.get('closedAtCentre')! } });
    assert.ok(closing.status < 300, JSON.stringify(closing.body));
    await app.settle();
  });
  after(() => app.services.dispose());

  it('the area is the active pharmacies of the box exactly, edges included, and the circle is cut by distance', async () => {
    const near = await activePharmaciesNear(app.services, CENTER, RADIUS_KM);
    const area = new Set(near.area.pharmacyIds);
    assert.ok(area.has(ids.get('eastEdgeOfCircle')!), 'at the circle edge');
    assert.ok(area.has(ids.get('southEdgeOfBox')!), 'on the box edge');
    assert.ok(!area.has(ids.get('northOfBox')!), 'inside the query polygon, outside the box: cut');
    assert.ok(!area.has(ids.get('closedAtCentre')!), 'closed');
    const inCircle = near.closestFirst().map(({ pharmacy }) => pharmacy.id);
    assert.ok(inCircle.includes(ids.get('eastEdgeOfCircle')!));
    assert.ok(!inCircle.includes(ids.get('southEdgeOfBox')!));
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Event ids are time-ordered (UUIDv7): the stores index them at the end, not at random places', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('given commands one after another and at once, then every event id is a UUIDv7 and their text order is the order they were made in', async () => {
    const registered = await invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body: pharmacyBody() });
    assert.equal(registered.status, 201);
    const { id } = registered.body as { id: string };
    const rename = (tradeName: string) => invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id }, body: { tradeName } });
    for (const tradeName of ['Drogaria Um', 'Drogaria Dois']) assert.equal((await rename(tradeName)).status, 200);
    const others = await Promise.all(Array.from({ length: 8 }, () => invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body: pharmacyBody() })));
    assert.deepEqual(others.map((answer) => answer.status), new Array(8).fill(201));

    const events = await app.services.eventStore.readAll(0, 1_000);
    const ids = events.map((event) => event.eventId);
    assert.ok(ids.length >= 11);
    for (const eventId of ids) assert.match(eventId, UUID_V7);
    assert.deepEqual([...ids].sort(), ids, 'sorted as text, the ids keep the order of the positions');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pharmacyQueries } from '../../shared/pharmacies/queries';
import { testApp, withBrokenReadStore } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

describe('Pharmacies handlers (real HttpRequest and InvocationContext)', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const register = (body = pharmacyBody(), headers: Record<string, string> = {}) =>
    invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body, headers });
  const command = (name: string, id: string, body?: unknown, headers: Record<string, string> = {}, method = 'POST') =>
    invoke(app.handler(name), { method, path: `pharmacies/${id}`, params: { id }, body, headers });
  const read = (id: string, headers: Record<string, string> = {}) =>
    invoke(app.handler('getPharmacy'), { path: `pharmacies/${id}`, params: { id }, headers });

  it('registers: 201, id, version 1, Location and ETag', async () => {
    const response = await register();
    assert.equal(response.status, 201);
    assert.match(response.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(response.body.version, 1);
    assert.equal(response.headers.get('location'), `/api/pharmacies/${response.body.id}`);
    assert.equal(response.headers.get('etag'), '"1"');
  });

  it('refuses a second pharmacy with the same CNPJ, printed differently: 409 problem+json', async () => {
    const body = pharmacyBody({ cnpj: '12.ABC.345/01DE-35' });
    assert.equal((await register(body)).status, 201);
    const again = await register({ ...body, cnpj: '12abc34501de35' });
    assert.equal(again.status, 409);
    assert.match(again.headers.get('content-type')!, /^application\/problem\+json/);
    assert.equal(again.body.title, 'Already exists');
    assert.equal(again.body.status, 409);
    assert.ok(again.body.traceId);
  });

  it('refuses a CNPJ of one repeated character or establishment 0000: 400 naming the field', async () => {
    for (const cnpj of ['AAAAAAAAAAAA45', '11.222.333/0000-09']) {
      const refused = await register(pharmacyBody({ cnpj }));
      assert.equal(refused.status, 400, cnpj);
      assert.match(refused.headers.get('content-type')!, /^application\/problem\+json/);
      assert.deepEqual(refused.body.errors.map((e: { field: string }) => e.field), ['cnpj']);
    }
  });

  it('reads its own write with X-Min-Version, then serves the cache with ETag and 304', async () => {
    const { body } = await register();
    const first = await read(body.id, { 'x-min-version': '1' });
    assert.equal(first.status, 200);
    assert.equal(first.body.version, 1);
    assert.equal(first.body.status, 'active');
    assert.equal(typeof first.body.openNow, 'boolean');
    assert.equal(first.body.cityKey, undefined, 'search keys stay internal');
    assert.equal(first.body.phone, '+551134567890', 'normalised');
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^"1-(open|closed)"$/);
    const cached = await read(body.id);
    assert.equal(cached.headers.get('x-cache'), 'hit');
    const notModified = await read(body.id, { 'if-none-match': etag });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, undefined);
  });

  it('changes with If-Match: the right version passes, a stale one is a 412', async () => {
    const { body } = await register();
    const changed = await command('changePharmacyProfile', body.id, { tradeName: 'Novo Nome' }, { 'if-match': '"1"' }, 'PATCH');
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, { id: body.id, version: 2 });
    const stale = await command('changePharmacyProfile', body.id, { tradeName: 'Outro Nome' }, { 'if-match': '"1"' }, 'PATCH');
    assert.equal(stale.status, 412);
    const viaReadEtag = await command('changePharmacyProfile', body.id, { tradeName: 'Outro Nome' }, { 'if-match': '"2-open", "2-closed"' }, 'PATCH');
    assert.equal(viaReadEtag.status, 200, 'an ETag from a read is accepted');
    const after = await read(body.id, { 'x-min-version': '3' });
    assert.equal(after.body.tradeName, 'Outro Nome');
  });

  it('takes If-Match strictly: weak, zero-padded and unknown-variant tags are 412, garbage a 400, * holds', async () => {
    const { body } = await register();
    const change = (ifMatch: string) => command('changePharmacyProfile', body.id, { tradeName: 'Novo Nome' }, { 'if-match': ifMatch }, 'PATCH');
    for (const ifMatch of ['W/"1"', '"0001"', '"1-bogus"']) {
      const refused = await change(ifMatch);
      assert.equal(refused.status, 412, ifMatch);
      assert.match(refused.headers.get('content-type')!, /^application\/problem\+json/);
    }
    for (const ifMatch of ['1', 'garbage', '"1" "2"', '*, "1"']) {
      const refused = await change(ifMatch);
      assert.equal(refused.status, 400, ifMatch);
      assert.match(refused.headers.get('content-type')!, /^application\/problem\+json/);
      assert.deepEqual(refused.body.errors.map((e: { field: string }) => e.field), ['If-Match']);
    }
    assert.equal((await change('*')).status, 200);
  });

  // Found in review: the header was ignored, so a change its caller meant to skip ran.
  it('takes If-None-Match (RFC 9110 §13.1.2): a tag naming the version, weak or not, or * on an existing one is a 412; garbage a 400', async () => {
    const { body } = await register();
    const change = (ifNoneMatch: string, tradeName = 'Novo Nome') => command('changePharmacyProfile', body.id, { tradeName }, { 'if-none-match': ifNoneMatch }, 'PATCH');
    for (const ifNoneMatch of ['"1"', 'W/"1"', '"7", "1-open"', '*']) {
      const refused = await change(ifNoneMatch);
      assert.equal(refused.status, 412, ifNoneMatch);
      assert.match(refused.headers.get('content-type')!, /^application\/problem\+json/);
    }
    const garbage = await change('1');
    assert.deepEqual([garbage.status, garbage.body.errors.map((e: { field: string }) => e.field)], [400, ['If-None-Match']]);
    assert.deepEqual((await read(body.id, { 'x-min-version': '1' })).body.version, 1, 'nothing refused was written');
    const changed = await change('"2", W/"0"');
    assert.deepEqual([changed.status, changed.body.version], [200, 2]);
  });

  it('answers the same version and writes nothing when a change changes nothing', async () => {
    const { body } = await register();
    const same = await command('changePharmacyProfile', body.id, { tradeName: 'Drogaria Teste' }, {}, 'PATCH');
    assert.deepEqual(same.body, { id: body.id, version: 1 });
    assert.equal((await app.services.eventStore.readStream(`pharmacy-${body.id}`)).length, 1);
  });

  it('closes and reopens, refusing what a closed or open pharmacy cannot do', async () => {
    const { body } = await register();
    assert.equal((await command('closePharmacy', body.id)).status, 200);
    assert.equal((await command('closePharmacy', body.id)).status, 409);
    const hours = { openingHours: [{ day: 'sun', opens: '10:00', closes: '14:00' }] };
    assert.equal((await command('changeOpeningHours', body.id, hours, {}, 'PUT')).status, 409);
    const reopened = await command('reopenPharmacy', body.id);
    assert.deepEqual(reopened.body, { id: body.id, version: 3 });
    assert.equal((await command('reopenPharmacy', body.id)).status, 409);
    assert.equal((await command('changeOpeningHours', body.id, hours, {}, 'PUT')).status, 200);
  });

  it('given a pharmacy open around the clock that has closed for good, when it is read or listed, then it is not open now', async () => {
    const aroundTheClock = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => ({ day, opens: '00:00', closes: '24:00' }));
    const { body } = await register(pharmacyBody({ openingHours: aroundTheClock, address: { ...pharmacyBody().address, city: 'Itapeva Fechada' } }));
    const closed = await command('closePharmacy', body.id);
    const after = await read(body.id, { 'x-min-version': String(closed.body.version) });
    assert.equal(after.body.status, 'closed');
    assert.equal(after.body.openNow, false);
    assert.match(after.headers.get('etag')!, /-closed"$/);
    const listed = await invoke(app.handler('listPharmacies'), { path: 'pharmacies?status=closed&city=itapeva%20fechada&openNow=true' });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.items, []);
  });

  it('relocates and the read model follows', async () => {
    const { body } = await register();
    const address = { street: 'Rua da Bahia', number: '1', district: 'Centro', city: 'Belo Horizonte', state: 'MG', postalCode: '30160011' };
    const moved = await command('relocatePharmacy', body.id, { address, location: { lat: -19.92, lon: -43.94 } });
    assert.equal(moved.status, 200);
    const after = await read(body.id, { 'x-min-version': String(moved.body.version) });
    assert.equal(after.body.address.city, 'Belo Horizonte');
    assert.equal(after.body.address.postalCode, '30160-011');
  });

  it("given a pharmacy in Manaus registered on the default São Paulo clock, when its time zone is corrected, then the read model reads its hours on Manaus' clock", async () => {
    const manaus = { street: 'Avenida Eduardo Ribeiro', number: '500', district: 'Centro', city: 'Manaus', state: 'AM', postalCode: '69010-001' };
    const { body } = await register(pharmacyBody({ address: manaus, location: { lat: -3.13, lon: -60.02 }, phone: '(92) 3234-5678' }));
    const corrected = await command('changePharmacyProfile', body.id, { timeZone: 'America/Manaus' }, {}, 'PATCH');
    assert.equal(corrected.status, 200);
    assert.deepEqual(corrected.body, { id: body.id, version: 2 });
    const after = await read(body.id, { 'x-min-version': '2' });
    assert.equal(after.body.timeZone, 'America/Manaus');
    const unknown = await command('changePharmacyProfile', body.id, { timeZone: 'America/Atlantis' }, {}, 'PATCH');
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body.errors.map((e: { field: string }) => e.field), ['timeZone']);
  });

  it('404s a command or a read on a pharmacy that does not exist', async () => {
    const id = '6f1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
    assert.equal((await command('closePharmacy', id)).status, 404);
    assert.equal((await read(id)).status, 404);
    assert.equal((await invoke(app.handler('pharmacyHistory'), { params: { id } })).status, 404);
  });

  it('replays the first answer to a retry with the same Idempotency-Key, and 422s another body', async () => {
    const body = pharmacyBody();
    const first = await register(body, { 'idempotency-key': 'partner-retry-1' });
    const retry = await register(body, { 'idempotency-key': 'partner-retry-1' });
    assert.equal(retry.status, 201);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.get('location'), first.headers.get('location'));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const other = await register({ ...body, tradeName: 'Outra' }, { 'idempotency-key': 'partner-retry-1' });
    assert.equal(other.status, 422);
    assert.equal((await register(pharmacyBody(), { 'idempotency-key': 'bad key with spaces' })).status, 400);
  });

  it('lists the history with positions, versions, types and data, paged', async () => {
    const { body } = await register();
    await command('changePharmacyProfile', body.id, { phone: '(21) 98765-4321' }, {}, 'PATCH');
    await command('closePharmacy', body.id);
    const history = invoke(app.handler('pharmacyHistory'), { params: { id: body.id }, path: `pharmacies/${body.id}/history?limit=2` });
    const page = await history;
    assert.deepEqual(page.body.items.map((e: { type: string; version: number }) => [e.type, e.version]), [
      ['PharmacyRegistered', 1],
      ['PharmacyProfileChanged', 2],
    ]);
    assert.deepEqual(page.body.items[1].data.changes, { phone: '+5521987654321' });
    assert.ok(page.body.items[0].position < page.body.items[1].position);
    assert.ok(page.body.items[0].metadata.correlationId);
    const next = await invoke(app.handler('pharmacyHistory'), {
      params: { id: body.id },
      path: `pharmacies/${body.id}/history?limit=2&cursor=${page.body.nextCursor}`,
    });
    assert.deepEqual(next.body.items.map((e: { type: string }) => e.type), ['PharmacyClosed']);
    assert.equal(next.body.nextCursor, null);
  });

  it('snapshots a long stream and decides from the snapshot and its tail', async () => {
    const { body } = await register();
    for (let i = 0; i < 55; i++) {
      const response = await command('changePharmacyProfile', body.id, { tradeName: `Nome ${i}` }, {}, 'PATCH');
      assert.equal(response.status, 200);
    }
    const snapshot = await app.services.eventStore.readSnapshot(`pharmacy-${body.id}`, 'pharmacy-v1');
    assert.equal(snapshot?.version, 50);
    assert.equal((snapshot?.state as { profile: { tradeName: string } }).profile.tradeName, 'Nome 48');
    assert.equal((await command('closePharmacy', body.id)).status, 200);
    assert.equal((await command('changePharmacyProfile', body.id, { tradeName: 'X' }, {}, 'PATCH')).status, 409, 'the tail says closed');
    const same = await command('reopenPharmacy', body.id);
    assert.deepEqual(same.body, { id: body.id, version: 58 });
    const unchanged = await command('changePharmacyProfile', body.id, { tradeName: 'Nome 54' }, {}, 'PATCH');
    assert.equal(unchanged.body.version, 58, 'the state folded from the snapshot knows the current name');
  });

  it('ignores a snapshot of another schema', async () => {
    const { body } = await register();
    await app.services.eventStore.writeSnapshot(`pharmacy-${body.id}`, 'pharmacy-v0', { version: 1, state: { status: 'closed' } });
    assert.equal((await command('closePharmacy', body.id)).status, 200);
  });

  it('carries the caller’s traceparent and correlation id into the event metadata', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { body } = await register(pharmacyBody(), { traceparent, 'x-correlation-id': 'order-123' });
    const [event] = await app.services.eventStore.readStream(`pharmacy-${body.id}`);
    assert.equal(event.metadata.traceparent, traceparent);
    assert.equal(event.metadata.correlationId, 'order-123');
    assert.equal(event.metadata.causationId, 'test-invocation');
  });

  describe('when the read store fails', () => {
    // Its own services: these tests trip the shared circuit breaker on purpose.
    let app: Awaited<ReturnType<typeof testApp>>;
    before(async () => {
      app = await testApp();
    });
    after(() => app.services.dispose());
    const register = () => invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body: pharmacyBody() });
    const read = (id: string) => invoke(app.handler('getPharmacy'), { path: `pharmacies/${id}`, params: { id } });

    it('serves the stale copy with x-cache: stale', async () => {
      const { body } = await register();
      await app.settle();
      assert.equal((await read(body.id)).status, 200);
      await app.services.cache.invalidate([`pharmacy:${body.id}`]);
      const broken = pharmacyQueries(async () => withBrokenReadStore(app.services));
      const stale = await invoke(broken.byId, { params: { id: body.id } });
      assert.equal(stale.status, 200);
      assert.equal(stale.headers.get('x-cache'), 'stale');
      assert.equal(stale.body.id, body.id);
    });

    it('answers 503 problem+json with Retry-After when there is no copy, quickly', async () => {
      const broken = pharmacyQueries(async () => withBrokenReadStore(app.services));
      const started = performance.now();
      const response = await invoke(broken.byId, { params: { id: '7a1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11' } });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '5');
      assert.match(response.headers.get('content-type')!, /problem\+json/);
      assert.ok(performance.now() - started < 1000);
      const list = await invoke(broken.list, { path: 'pharmacies?state=AC' });
      assert.equal(list.status, 503);
    });

    it('opens the circuit after repeated failures, so later calls do not reach the store', async () => {
      let calls = 0;
      const fresh = await testApp();
      const guard = fresh.services.guardRead;
      const failing = async () => {
        calls += 1;
        throw new Error('down');
      };
      for (let i = 0; i < 10; i++) await guard(failing).catch(() => {});
      assert.equal(calls, fresh.services.settings.readStore.breakerThreshold);
      await fresh.services.dispose();
    });
  });
});

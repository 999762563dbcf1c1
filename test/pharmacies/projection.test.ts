import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { project, projectorDeclaration } from '../../shared/kernel/projection';
import { rebuildAll, repairReadModels, verifyReadModels } from '../../shared/kernel/rebuild';
import type { ReadDocument, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { InvocationContext } from '@azure/functions';
import { PHARMACIES_CONTAINER, pharmaciesProjection, type PharmacyDocument } from '../../shared/pharmacies/projection';
import { testServices } from '../support/services';
import { shuffled } from '../support/shuffle';
import { pharmacyBody } from '../support/fixtures';

describe('pharmacies projection converges', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let local: LocalCosmos;
  let client: CosmosClient;
  let history: StoredEvent[];
  let pharmacyId: string;

  /** The same services over a brand-new read database: one per delivery order. */
  async function freshReadSide(): Promise<Services> {
    const readStore = await CosmosReadStore.open(client, `convergence-${randomUUID()}`, [PHARMACIES_CONTAINER], { createContainers: true });
    return { ...services, readStore };
  }

  async function projectAll(target: Services, events: StoredEvent[]): Promise<PharmacyDocument | undefined> {
    for (const event of events) await project(target, pharmaciesProjection, event);
    return (await target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name).get(pharmacyId))?.document;
  }

  before(async () => {
    services = await testServices();
    local = await startLocalCosmos();
    client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
    pharmacyId = randomUUID();
    const stream = `pharmacy-${pharmacyId}`;
    const { cnpj, ...body } = pharmacyBody();
    const data = (extra: object) => ({ pharmacyId, ...extra });
    const events = [
      { type: 'PharmacyRegistered', data: data({ ...body, cnpj, timeZone: 'America/Sao_Paulo', registeredAt: '2026-11-01T10:00:00.000Z' }) },
      { type: 'PharmacyProfileChanged', data: data({ changes: { tradeName: 'Drogaria Renomeada' }, changedAt: 'x' }) },
      { type: 'PharmacyOpeningHoursChanged', data: data({ openingHours: [{ day: 'sun', opens: '09:00', closes: '13:00' }], changedAt: 'x' }) },
      { type: 'PharmacyRelocated', data: data({ address: { ...body.address, city: 'Niterói', state: 'RJ' }, location: { lat: -22.88, lon: -43.1 }, relocatedAt: 'x' }) },
      { type: 'PharmacyClosed', data: data({ closedAt: 'x' }) },
      { type: 'PharmacyReopened', data: data({ reopenedAt: 'x' }) },
      { type: 'PharmacyProfileChanged', data: data({ changes: { services: ['vaccination'] }, changedAt: 'x' }) },
    ];
    history = [];
    for (const [index, event] of events.entries()) {
      const [stored] = await services.eventStore.append(stream, index, [{ eventId: randomUUID(), ...event, metadata: { correlationId: 'c' } }]);
      history.push(stored);
    }
  });
  after(async () => {
    client.dispose();
    await local.stop();
    await services.dispose();
  });

  it('in order, the document reflects every event', async () => {
    const document = await projectAll(await freshReadSide(), history);
    assert.equal(document?.version, 7);
    assert.equal(document?.tradeName, 'Drogaria Renomeada');
    assert.equal(document?.address.city, 'Niterói');
    assert.equal(document?.cityKey, 'niteroi');
    assert.equal(document?.status, 'active');
    assert.deepEqual(document?.services, ['vaccination']);
  });

  it('keeps the location as a GeoJSON Point, longitude first, for the spatial index, and moves it with a relocation', async () => {
    const target = await freshReadSide();
    const registered = await projectAll(target, history.slice(0, 1));
    const { lat, lon } = registered!.location;
    assert.deepEqual(registered?.position, { type: 'Point', coordinates: [lon, lat] });
    const relocated = await projectAll(target, history);
    assert.deepEqual(relocated?.position, { type: 'Point', coordinates: [-43.1, -22.88] });
  });

  it('a document written before positions existed is reported by verify and given one by repair (the upgrade)', async () => {
    const target = await freshReadSide();
    const current = await projectAll(target, history);
    const container = target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
    const { position: _position, ...withoutPosition } = current!;
    await container.upsert(withoutPosition as PharmacyDocument);
    const [report] = await verifyReadModels(target, [pharmaciesProjection as never]);
    assert.deepEqual(report.differences.map(({ id, kind }) => ({ id, kind })), [{ id: pharmacyId, kind: 'different' }]);
    await repairReadModels(target, [pharmaciesProjection as never]);
    assert.deepEqual((await container.get(pharmacyId))?.document.position, current?.position);
  });

  it('with duplicates and any order, the document is the same as in order', async () => {
    const expected = await projectAll(await freshReadSide(), history);
    for (let seed = 1; seed <= 12; seed++) {
      const deliveries = shuffled([...history, ...shuffled(history, seed + 100).slice(0, 4)], seed);
      assert.deepEqual(await projectAll(await freshReadSide(), deliveries), expected, `seed ${seed}`);
    }
  });

  it('a late first event after a gap repair is a duplicate', async () => {
    const target = await freshReadSide();
    assert.equal(await project(target, pharmaciesProjection, history[4]), 'projected', 'gap: rebuilt from the stream');
    assert.equal(await project(target, pharmaciesProjection, history[0]), 'duplicate');
    assert.equal(await project(target, pharmaciesProjection, history[4]), 'duplicate');
  });

  it('concurrent deliveries of the whole history converge too', async () => {
    const target = await freshReadSide();
    const expected = await projectAll(await freshReadSide(), history);
    await Promise.all([...history, ...history].map((event) => project(target, pharmaciesProjection, event)));
    const document = (await target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name).get(pharmacyId))?.document;
    assert.deepEqual(document, expected);
  });

  it('the declared handler takes a Service Bus body as text or as an object', async () => {
    const target = await freshReadSide();
    const declaration = projectorDeclaration(async () => target, pharmaciesProjection);
    const context = new InvocationContext({ functionName: declaration.name, logHandler: () => {} });
    await declaration.handler(JSON.stringify(history[0]), context);
    await declaration.handler(history[1], context);
    await assert.rejects(declaration.handler({ nonsense: true }, context), /not a domain event/);
    const document = (await target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name).get(pharmacyId))?.document;
    assert.equal(document?.version, 2);
  });

  it('a full rebuild from the event store gives the same document', async () => {
    const expected = await projectAll(await freshReadSide(), history);
    const target = await freshReadSide();
    await rebuildAll(target, [pharmaciesProjection as never]);
    const rebuilt = (await target.readStore.container<ReadDocument>(PHARMACIES_CONTAINER.name).get(pharmacyId))?.document;
    assert.deepEqual(rebuilt, expected);
  });
});

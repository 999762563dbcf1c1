import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { InvocationContext } from '@azure/functions';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { project, projectMany, projectorDeclaration, SLOW_ROUND_MS, WrittenDocuments } from '../../shared/kernel/projection';
import type { ReadContainer, ReadDocument, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { PHARMACIES_CONTAINER, PHARMACIES_GENERATION, pharmaciesProjection, pharmacyCacheKey, type PharmacyDocument } from '../../shared/pharmacies/projection';
import { pharmacyBody } from '../support/fixtures';
import { testServices } from '../support/services';
import { shuffled } from '../support/shuffle';

/** Events projected together (projectMany, and the declared handler that gathers deliveries) converge as one by one does. */
describe('projected together', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let local: LocalCosmos;
  let client: CosmosClient;
  const histories = new Map<string, StoredEvent[]>();
  const everything = () => [...histories.values()].flat();

  /** A brand-new read database, its pharmacies container seen through `wrap` (counting, failing, racing). */
  async function freshReadSide(wrap: (real: ReadContainer<ReadDocument>) => Partial<ReadContainer<ReadDocument>> = () => ({})): Promise<Services> {
    const readStore = await CosmosReadStore.open(client, `together-${randomUUID()}`, [PHARMACIES_CONTAINER], { createContainers: true });
    const real = readStore.container(PHARMACIES_CONTAINER.name);
    const container = new Proxy(real, {
      get: (target, property) => {
        const replaced = (wrap(target) as Record<string | symbol, unknown>)[property];
        if (replaced) return replaced;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { ...services, readStore: { container: () => container, ping: () => readStore.ping(), close: () => readStore.close() } as unknown as Services['readStore'] };
  }

  async function documents(target: Services): Promise<(PharmacyDocument | undefined)[]> {
    const container = target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
    return Promise.all([...histories.keys()].map(async (id) => (await container.get(id))?.document));
  }

  let expected: (PharmacyDocument | undefined)[];

  before(async () => {
    services = await testServices();
    local = await startLocalCosmos();
    client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
    for (let n = 0; n < 3; n++) {
      const pharmacyId = randomUUID();
      const { cnpj, ...body } = pharmacyBody();
      const data = (extra: object) => ({ pharmacyId, ...extra });
      const events = [
        { type: 'PharmacyRegistered', data: data({ ...body, cnpj, timeZone: 'America/Sao_Paulo', registeredAt: '2026-11-01T10:00:00.000Z' }) },
        { type: 'PharmacyProfileChanged', data: data({ changes: { tradeName: `Drogaria ${n}` }, changedAt: 'x' }) },
        { type: 'PharmacyOpeningHoursChanged', data: data({ openingHours: [{ day: 'sun', opens: '09:00', closes: '13:00' }], changedAt: 'x' }) },
        { type: 'PharmacyClosed', data: data({ closedAt: 'x' }) },
        { type: 'PharmacyReopened', data: data({ reopenedAt: 'x' }) },
        { type: 'PharmacyProfileChanged', data: data({ changes: { services: ['vaccination'] }, changedAt: 'x' }) },
      ];
      const history: StoredEvent[] = [];
      for (const [index, event] of events.entries()) {
        const [stored] = await services.eventStore.append(`pharmacy-${pharmacyId}`, index, [{ eventId: randomUUID(), ...event, metadata: { correlationId: 'c' } }]);
        history.push(stored);
      }
      histories.set(pharmacyId, history);
    }
    const inOrder = await freshReadSide();
    for (const event of everything()) await project(inOrder, pharmaciesProjection, event);
    expected = await documents(inOrder);
  });
  after(async () => {
    client.dispose();
    await local.stop();
    await services.dispose();
  });

  it('shuffled, with duplicates: the documents of one by one, each event projected once, in one bulk read and one bulk write', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const calls: string[] = [];
      const target = await freshReadSide((real) => ({
        get: (id: string, partitionKey?: string) => (calls.push('get'), real.get(id, partitionKey)),
        getMany: (refs) => (calls.push('getMany'), real.getMany(refs)),
        writeMany: (writes) => (calls.push('writeMany'), real.writeMany(writes)),
      }));
      const duplicates = shuffled(everything(), seed + 50).slice(0, 5);
      const outcomes = await projectMany(target, pharmaciesProjection, shuffled([...everything(), ...duplicates], seed));
      assert.deepEqual(calls, ['getMany', 'writeMany'], `seed ${seed}: no request per event`);
      assert.deepEqual(await documents(target), expected, `seed ${seed}`);
      assert.equal(outcomes.filter((outcome) => outcome === 'projected').length, everything().length, `seed ${seed}`);
      assert.equal(outcomes.filter((outcome) => outcome === 'duplicate').length, duplicates.length, `seed ${seed}`);
    }
  });

  it('a gap in a round is filled from the stream; what the document holds already is a duplicate', async () => {
    const target = await freshReadSide();
    const [first] = [...histories.values()];
    assert.deepEqual(await projectMany(target, pharmaciesProjection, [first[3]]), ['projected'], 'gap: rebuilt from the stream');
    assert.deepEqual(await projectMany(target, pharmaciesProjection, [first[0], first[5], first[4], first[3]]), ['duplicate', 'projected', 'projected', 'duplicate']);
    assert.deepEqual((await documents(target))[0], expected[0]);
  });

  it('a document written meanwhile by another instance: its etag turns the bulk write aside, and the events go one by one', async () => {
    let raced = false;
    const target = await freshReadSide((real) => ({
      writeMany: async (writes) => {
        // Another instance projects the same events between this round's read and its write.
        if (!raced) {
          raced = true;
          for (const event of everything()) await project({ ...target, readStore: { ...target.readStore, container: () => real } } as Services, pharmaciesProjection, event);
        }
        return real.writeMany(writes);
      },
    }));
    const outcomes = await projectMany(target, pharmaciesProjection, everything());
    assert.ok(raced);
    assert.ok(outcomes.every((outcome) => outcome === 'duplicate'), 'written by the other instance first');
    assert.deepEqual(await documents(target), expected);
  });

  /** Each pharmacy's events from `from` up to (not including) `to`, in version order. */
  const eventsBetween = (from: number, to: number) => [...histories.values()].flatMap((history) => history.slice(from, to));
  const countingCalls = (calls: string[]) => (real: ReadContainer<ReadDocument>): Partial<ReadContainer<ReadDocument>> => ({
    get: (id: string, partitionKey?: string) => (calls.push('get'), real.get(id, partitionKey)),
    getMany: (refs) => (calls.push(`getMany ${refs.length}`), real.getMany(refs)),
    writeMany: async (writes) => {
      const answers = await real.writeMany(writes);
      calls.push(`writeMany ${answers.map(({ status }) => status).join(' ')}`);
      return answers;
    },
  });

  /** A read side whose projector remembers each pharmacy's first three events, after which another instance projected `meanwhile`. */
  async function rememberedThree(calls: string[], meanwhile: StoredEvent[] = []) {
    const target = await freshReadSide(countingCalls(calls));
    const written = new WrittenDocuments<PharmacyDocument>();
    await projectMany(target, pharmaciesProjection, eventsBetween(0, 3), written);
    for (const event of meanwhile) await project(target, pharmaciesProjection, event);
    calls.length = 0;
    return { target, written };
  }

  it('the next events of documents the projector wrote go out on the remembered etags, unread', async () => {
    const calls: string[] = [];
    const { target, written } = await rememberedThree(calls);
    const outcomes = await projectMany(target, pharmaciesProjection, eventsBetween(3, 6), written);
    assert.deepEqual(calls, ['writeMany written written written'], 'no read');
    assert.ok(outcomes.every((outcome) => outcome === 'projected'));
    assert.deepEqual(await documents(target), expected);
  });

  it('a document another writer changed since: its remembered etag turns the write aside, and it is read and written in bulk', async () => {
    const calls: string[] = [];
    // Another instance projects the fourth event of every pharmacy.
    const { target, written } = await rememberedThree(calls, eventsBetween(3, 4));
    const outcomes = await projectMany(target, pharmaciesProjection, eventsBetween(3, 6), written);
    const [fourth, fifth, sixth] = [3, 4, 5].map((index) => [...histories.values()].map((history) => outcomes[eventsBetween(3, 6).indexOf(history[index])]));
    assert.deepEqual(calls, ['writeMany changed changed changed', `getMany ${histories.size}`, 'writeMany written written written']);
    assert.deepEqual([fourth, fifth, sixth], [['duplicate', 'duplicate', 'duplicate'], ['projected', 'projected', 'projected'], ['projected', 'projected', 'projected']]);
    assert.deepEqual(await documents(target), expected);
  });

  it('two instances taking turns with the same documents: a copy another instance moved past is read, with no write wasted on it', async () => {
    const calls: string[] = [];
    const target = await freshReadSide(countingCalls(calls));
    const instances = [new WrittenDocuments<PharmacyDocument>(), new WrittenDocuments<PharmacyDocument>()];
    for (let index = 0; index < 6; index++) {
      calls.length = 0;
      const outcomes = await projectMany(target, pharmaciesProjection, eventsBetween(index, index + 1), instances[index % 2]);
      assert.deepEqual(outcomes, ['projected', 'projected', 'projected'], `event ${index}`);
      assert.deepEqual(calls, [`getMany ${histories.size}`, 'writeMany written written written'], `event ${index}`);
    }
    assert.deepEqual(await documents(target), expected);
  });

  it('an event late behind another instance that filled its gap: the remembered copy looks current, so its write goes aside before the read finds a duplicate', async () => {
    const calls: string[] = [];
    // Another instance takes each pharmacy's fifth event first, and fills the fourth from the stream.
    const { target, written } = await rememberedThree(calls, eventsBetween(4, 5));
    const outcomes = await projectMany(target, pharmaciesProjection, eventsBetween(3, 4), written);
    assert.deepEqual(outcomes, ['duplicate', 'duplicate', 'duplicate']);
    assert.deepEqual(calls, ['writeMany changed changed changed', `getMany ${histories.size}`], 'one write each that a read first would have spared');
  });

  it('a redelivery the remembered copy calls a duplicate is judged on the stored document: one lost since is made again', async () => {
    const target = await freshReadSide();
    const written = new WrittenDocuments<PharmacyDocument>();
    await projectMany(target, pharmaciesProjection, everything(), written);
    const container = target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
    const [lostId, lostHistory] = [...histories.entries()][0];
    await container.delete(lostId, (await container.get(lostId))!.etag);
    const redelivered = [lostHistory[5], ...[...histories.values()].slice(1).map((history) => history[5])];
    assert.deepEqual(await projectMany(target, pharmaciesProjection, redelivered, written), ['projected', 'duplicate', 'duplicate']);
    assert.deepEqual(await documents(target), expected);
  });

  it("a second round that fails fails only its own deliveries: the first round's stay settled", async () => {
    let failReads = false;
    const target = await freshReadSide((real) => ({
      getMany: async (refs) => {
        if (failReads) throw new Error('Cosmos DB answered 503');
        return real.getMany(refs);
      },
    }));
    const written = new WrittenDocuments<PharmacyDocument>();
    await projectMany(target, pharmaciesProjection, eventsBetween(0, 3), written);
    // Another instance projects the first pharmacy's fourth event: that one remembered write goes aside.
    const [movedOn, ...others] = [...histories.values()];
    await project(target, pharmaciesProjection, movedOn[3]);
    failReads = true;
    const batch = [movedOn, ...others].map((history) => history[3]);
    const outcomes = await projectMany(target, pharmaciesProjection, batch, written);
    assert.ok(outcomes[0] instanceof Error && /503/.test(outcomes[0].message), 'the document read again failed with the second round');
    assert.deepEqual(outcomes.slice(1), ['projected', 'projected'], 'written in the first round, and settled so');
    failReads = false;
    assert.deepEqual(await projectMany(target, pharmaciesProjection, batch, written), ['duplicate', 'duplicate', 'duplicate'], 'redelivered');
    await projectMany(target, pharmaciesProjection, eventsBetween(4, 6), written);
    assert.deepEqual(await documents(target), expected);
  });

  it('a bulk request that fails fails every delivery of its round; redelivered, they are projected', async () => {
    let failures = 1;
    const target = await freshReadSide((real) => ({
      getMany: async (refs) => {
        if (failures-- > 0) throw new Error('Cosmos DB answered 503');
        return real.getMany(refs);
      },
    }));
    const declaration = projectorDeclaration(async () => target, pharmaciesProjection);
    const context = new InvocationContext({ functionName: declaration.name, logHandler: () => {} });
    const deliveries = await Promise.allSettled(everything().map((event) => declaration.handler(event, context)));
    assert.ok(deliveries.every((delivery) => delivery.status === 'rejected' && /503/.test(String(delivery.reason))), 'each delivery failed, for the bus to retry');
    await Promise.all(everything().map((event) => declaration.handler(event, context)));
    assert.deepEqual(await documents(target), expected);
  });

  it('a bulk write that fails after some of its writes landed retires their cached copies before the round fails', async () => {
    let failures = 1;
    const target = await freshReadSide((real) => ({
      writeMany: async (writes) => {
        const outcomes = await real.writeMany(writes);
        // One partition range's request failed after the others' writes landed.
        if (failures-- > 0) throw new Error('Bulk request errored with: 503');
        return outcomes;
      },
    }));
    const keys = [...histories.keys()].map(pharmacyCacheKey);
    for (const key of keys) await target.cache.set(key, 'cached before the round', { freshSeconds: 60, staleSeconds: 60 });
    const generation = await target.cache.counter(PHARMACIES_GENERATION);
    await assert.rejects(projectMany(target, pharmaciesProjection, everything()), /503/);
    assert.deepEqual(await Promise.all(keys.map(async (key) => (await target.cache.get(key))?.fresh)), keys.map(() => false), 'no cached copy of a written document stays fresh');
    assert.ok((await target.cache.counter(PHARMACIES_GENERATION)) > generation, 'the lists retired');
    assert.ok((await projectMany(target, pharmaciesProjection, everything())).every((outcome) => outcome === 'duplicate'), 'redelivered: written already');
    assert.deepEqual(await documents(target), expected);
  });

  it('a write the bulk answer calls failed (a 503 of its own) may have landed: its cached copy is retired before it goes one by one', async () => {
    const target = await freshReadSide((real) => ({
      // Every write landed, and the answer for each was lost to a 503 (items.bulk retries none).
      writeMany: async (writes) => (await real.writeMany(writes)).map(() => ({ status: 'failed' as const })),
    }));
    const keys = [...histories.keys()].map(pharmacyCacheKey);
    for (const key of keys) await target.cache.set(key, 'cached before the round', { freshSeconds: 60, staleSeconds: 60 });
    const generation = await target.cache.counter(PHARMACIES_GENERATION);
    const outcomes = await projectMany(target, pharmaciesProjection, everything());
    assert.ok(outcomes.every((outcome) => outcome === 'duplicate' || outcome === 'projected'), JSON.stringify(outcomes));
    assert.deepEqual(await Promise.all(keys.map(async (key) => (await target.cache.get(key))?.fresh)), keys.map(() => false), 'no cached copy of a landed document stays fresh');
    assert.ok((await target.cache.counter(PHARMACIES_GENERATION)) > generation, 'the lists retired');
    assert.deepEqual(await documents(target), expected);
  });

  it('one by one, a write that lands but answers with a failure retires its cached copy before the delivery fails', async () => {
    const target = await freshReadSide((real) => ({
      create: async (document) => {
        await real.create(document);
        throw new Error('Cosmos DB answered 503 after the write landed');
      },
    }));
    const [id, history] = [...histories.entries()][0];
    await target.cache.set(pharmacyCacheKey(id), 'cached before the write', { freshSeconds: 60, staleSeconds: 60 });
    await assert.rejects(project(target, pharmaciesProjection, history[0]), /503/);
    assert.equal((await target.cache.get(pharmacyCacheKey(id)))?.fresh, false, 'no fresh copy of a document that may have changed');
    assert.equal(await project(target, pharmaciesProjection, history[0]), 'duplicate', 'redelivered: written already');
  });

  it('an event its projection cannot apply (a data shape of another version) fails its own deliveries only, not its round\'s', async () => {
    // A registration without its address, as a later version of the event might name it: apply throws on it.
    const poisonId = randomUUID();
    const { address: _address, cnpj, ...body } = pharmacyBody();
    const [poison] = await services.eventStore.append(`pharmacy-${poisonId}`, 0, [
      { eventId: randomUUID(), type: 'PharmacyRegistered', data: { pharmacyId: poisonId, ...body, cnpj, timeZone: 'America/Sao_Paulo', registeredAt: '2026-11-01T10:00:00.000Z' }, metadata: { correlationId: 'c' } },
    ]);
    const target = await freshReadSide();
    const outcomes = await projectMany(target, pharmaciesProjection, [...everything(), poison]);
    assert.ok(outcomes.at(-1) instanceof Error, 'the event that cannot be applied fails');
    assert.deepEqual(outcomes.slice(0, -1), everything().map(() => 'projected'), 'the others in its round are projected');
    assert.deepEqual(await documents(target), expected);

    // Through the declared handler, as the bus delivers them together: each healthy delivery settles.
    const gathered = await freshReadSide();
    const declaration = projectorDeclaration(async () => gathered, pharmaciesProjection);
    const context = new InvocationContext({ functionName: declaration.name, logHandler: () => {} });
    const deliveries = await Promise.allSettled([...everything(), poison].map((event) => declaration.handler(event, context)));
    assert.equal(deliveries.at(-1)!.status, 'rejected');
    assert.deepEqual(deliveries.slice(0, -1).map((delivery) => delivery.status), everything().map(() => 'fulfilled'));
    assert.deepEqual(await documents(gathered), expected);
  });

  it('deliveries that arrive together are gathered into one round', async () => {
    const calls: string[] = [];
    const target = await freshReadSide((real) => ({
      get: (id: string, partitionKey?: string) => (calls.push('get'), real.get(id, partitionKey)),
      getMany: (refs) => (calls.push(`getMany ${refs.length}`), real.getMany(refs)),
    }));
    const declaration = projectorDeclaration(async () => target, pharmaciesProjection);
    const context = new InvocationContext({ functionName: declaration.name, logHandler: () => {} });
    await Promise.all(everything().map((event) => declaration.handler(JSON.stringify(event), context)));
    assert.deepEqual(calls, [`getMany ${histories.size}`], 'one bulk read for the three documents of all 18 deliveries');
    assert.deepEqual(await documents(target), expected);
  });
  it('a round frozen past SLOW_ROUND_MS lets its deliveries go one by one, and its late write converges with theirs', async () => {
    let thaw = () => {};
    const frozen = new Promise<void>((resolve) => (thaw = resolve));
    let first = true;
    const target = await freshReadSide((real) => ({
      getMany: async (refs) => {
        // The first round's bulk read hangs (a slow partition) until released.
        if (first) {
          first = false;
          await frozen;
        }
        return real.getMany(refs);
      },
    }));
    const declaration = projectorDeclaration(async () => target, pharmaciesProjection);
    const context = new InvocationContext({ functionName: declaration.name, logHandler: () => {} });
    const started = Date.now();
    await Promise.all(everything().map((event) => declaration.handler(event, context)));
    assert.ok(Date.now() - started >= SLOW_ROUND_MS, 'settled once the round was slow, not before');
    assert.deepEqual(await documents(target), expected, 'projected one by one while the round hung');
    // The hung round resumes: its reads are stale now, so its etag-conditional writes go aside.
    thaw();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await documents(target), expected);
  });
});

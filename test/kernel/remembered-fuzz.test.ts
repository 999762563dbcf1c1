import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { project, projectMany, WrittenDocuments, type DocumentProjection } from '../../shared/kernel/projection';
import { repairReadModels } from '../../shared/kernel/rebuild';
import type { ReadContainer, ReadDocument, StoredEvent, WriteOutcome } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { PHARMACIES_CONTAINER, pharmaciesProjection, pharmacyCacheKey, type PharmacyDocument } from '../../shared/pharmacies/projection';
import { pharmacyBody } from '../support/fixtures';
import { testServices } from '../support/services';
import { shuffledWith } from '../support/shuffle';

/**
 * Projectors on remembered etags (WrittenDocuments) under every fault at once: random batches
 * with duplicates and gaps, two instances, up to three rounds in flight together (a slow round
 * going on in the background), bulk writes that throw before or after landing, answers of
 * 'failed' for writes that did or did not land, another instance, a same-content replace, the
 * operator's repair and deletes between a round's read and its write, failing bulk reads and
 * afterWrite. After each step: a document the step changed has no fresh cached copy, and no
 * event is reported projected twice; at the end the store says what the events say.
 * FUZZ_SEEDS and FUZZ_STEPS make it longer.
 */
const SEEDS = Number(process.env.FUZZ_SEEDS ?? 6);
const STEPS = Number(process.env.FUZZ_STEPS ?? 30);

let recalled = 0;
class Counting extends WrittenDocuments<PharmacyDocument> {
  override recall(id: string, next: number) {
    const hit = super.recall(id, next);
    if (hit) recalled++;
    return hit;
  }
}
const flaky = (random: () => number): typeof pharmaciesProjection => ({
  ...pharmaciesProjection,
  afterWrite: async () => {
    if (random() < 0.05) throw new Error('afterWrite failed');
  },
});
describe('remembered etags under faults (fuzz)', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let local: LocalCosmos;
  let client: CosmosClient;
  const histories = new Map<string, StoredEvent[]>();
  const everything = () => [...histories.values()].flat();
  let expected: (PharmacyDocument | undefined)[];

  before(async () => {
    services = await testServices();
    local = await startLocalCosmos();
    client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
    for (let n = 0; n < 4; n++) {
      const pharmacyId = randomUUID();
      const { cnpj, ...body } = pharmacyBody();
      const data = (extra: object) => ({ pharmacyId, ...extra });
      const events = [{ type: 'PharmacyRegistered', data: data({ ...body, cnpj, timeZone: 'America/Sao_Paulo', registeredAt: '2026-11-01T10:00:00.000Z' }) }];
      for (let k = 1; k < 9; k++) {
        events.push(
          k % 3 === 0
            ? { type: k % 2 ? 'PharmacyClosed' : 'PharmacyReopened', data: data({ at: 'x' }) }
            : { type: 'PharmacyProfileChanged', data: data({ changes: { tradeName: `Drogaria ${n}.${k}` }, changedAt: 'x' }) },
        );
      }
      const history: StoredEvent[] = [];
      for (const [index, event] of events.entries()) {
        const [stored] = await services.eventStore.append(`pharmacy-${pharmacyId}`, index, [{ eventId: randomUUID(), ...event, metadata: { correlationId: 'c' } }]);
        history.push(stored);
      }
      histories.set(pharmacyId, history);
    }
    const { target } = await freshReadSide(() => 0, () => 'none');
    for (const event of everything()) await project(target, pharmaciesProjection, event);
    expected = await documents(target);
  });
  after(async () => {
    client.dispose();
    await local.stop();
    await services.dispose();
  });

  type Fault = 'repair' | 'none' | 'throw-before' | 'throw-after' | 'failed-landed' | 'failed-unlanded' | 'other-instance' | 'same-content-replace' | 'delete';

  async function freshReadSide(random: () => number, fault: () => Fault) {
    const readStore = await CosmosReadStore.open(client, `fuzz-${randomUUID()}`, [PHARMACIES_CONTAINER], { createContainers: true });
    const real = readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
    const log: string[] = [];
    const plain = () => ({ ...target, readStore: { ...target.readStore, container: () => real } }) as Services;
    const container: ReadContainer<PharmacyDocument> = Object.assign(Object.create(real) as ReadContainer<PharmacyDocument>, {
      get: (id: string, pk?: string) => real.get(id, pk),
      getMany: async (refs: Parameters<ReadContainer<PharmacyDocument>['getMany']>[0]) => {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        if (random() < 0.05) throw new Error('getMany 503');
        const answer = await real.getMany(refs);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        return answer;
      },
      writeMany: async (writes: Parameters<ReadContainer<PharmacyDocument>['writeMany']>[0]): Promise<WriteOutcome[]> => {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        const chosen = fault();
        log.push(chosen);
        const ids = [...histories.keys()];
        const someId = ids[Math.floor(random() * ids.length)];
        if (chosen === 'throw-before') throw new Error('Bulk request errored with: 503 before');
        if (chosen === 'other-instance') {
          const history = histories.get(someId)!;
          await project(plain(), pharmaciesProjection, history[Math.floor(random() * history.length)]);
        }
        if (chosen === 'same-content-replace') {
          const current = await real.get(someId);
          if (current) await real.replace(current.document, current.etag);
        }
        if (chosen === 'repair') {
          await repairReadModels(plain(), [pharmaciesProjection as unknown as DocumentProjection<ReadDocument>]);
        }
        if (chosen === 'delete') {
          const current = await real.get(someId);
          if (current) await real.delete(someId, current.etag);
        }
        if (chosen === 'failed-unlanded') {
          const drop = writes.map(() => random() < 0.5);
          const landed = await real.writeMany(writes.filter((_, i) => !drop[i]));
          let next = 0;
          return writes.map((_, i) => (drop[i] ? { status: 'failed' } : landed[next++]));
        }
        const answers = await real.writeMany(writes);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        if (chosen === 'throw-after') throw new Error('Bulk request errored with: 503 after');
        if (chosen === 'failed-landed') return answers.map((answer) => (random() < 0.5 ? { status: 'failed' } : answer));
        return answers;
      },
    });
    const target: Services = { ...services, readStore: { container: () => container, ping: () => readStore.ping(), close: () => readStore.close() } as unknown as Services['readStore'] };
    return { target, real, log };
  }

  async function documents(target: Services): Promise<(PharmacyDocument | undefined)[]> {
    const container = target.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
    return Promise.all([...histories.keys()].map(async (id) => (await container.get(id))?.document));
  }

  for (const deletes of [false, true]) {
    it(`random batches, two instances, faults ${deletes ? 'with' : 'without'} deletes: converge, retire caches, report projected at most once`, async () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        let state = seed * 7919 + (deletes ? 1 : 0);
        const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
        const faults: Fault[] = ['none', 'none', 'none', 'throw-before', 'throw-after', 'failed-landed', 'failed-unlanded', 'other-instance', 'same-content-replace', 'repair', ...(deletes ? (['delete'] as const) : [])];
        const { target, real, log } = await freshReadSide(random, () => faults[Math.floor(random() * faults.length)]);
        const instances = [new Counting(), new Counting()];
        const projected = new Map<string, number>();
        const all = everything();
        const ids = [...histories.keys()];
        const keys = ids.map(pharmacyCacheKey);
        const undelivered = new Set(all);
        for (let step = 0; step < STEPS || undelivered.size > 0; step++) {
          if (step > STEPS + 50) assert.fail(`seed ${seed}: never converged`);
          const batch: StoredEvent[] = [];
          const size = 1 + Math.floor(random() * 12);
          for (let k = 0; k < size; k++) {
            if (random() < 0.6) {
              const id = ids[Math.floor(random() * ids.length)];
              const next = histories.get(id)!.find((event) => undelivered.has(event) && !batch.includes(event));
              if (next) {
                batch.push(next);
                continue;
              }
            }
            const pool = undelivered.size > 0 && random() < 0.7 ? [...undelivered] : all;
            batch.push(pool[Math.floor(random() * pool.length)]);
          }
          for (const key of keys) await target.cache.set(key, 'before', { freshSeconds: 60, staleSeconds: 60 });
          const beforeRound = await Promise.all(ids.map(async (id) => JSON.stringify((await real.get(id))?.document ?? null)));
          const logStart = log.length;
          const parallel = 1 + Math.floor(random() * 3);
          const batches = [batch];
          for (let extra = 1; extra < parallel; extra++) batches.push(shuffledWith(batch.concat(all[Math.floor(random() * all.length)]), random));
          const settled = await Promise.all(
            batches.map(async (events) => {
              const instance = instances[Math.floor(random() * 2)];
              try {
                return { events, outcomes: (await projectMany(target, flaky(random), events, instance)) as (string | Error)[] };
              } catch (error) {
                return { events, outcomes: events.map(() => error as Error) };
              }
            }),
          );
          const afterRound = await Promise.all(ids.map(async (id) => JSON.stringify((await real.get(id))?.document ?? null)));
          const faultsThisRound = log.slice(logStart);
          for (const [index, id] of ids.entries()) {
            if (beforeRound[index] === afterRound[index] || afterRound[index] === 'null') continue;
            const fresh = (await target.cache.get(keys[index]))?.fresh;
            assert.notEqual(fresh, true, `seed ${seed} step ${step}: ${id} changed in a round (${faultsThisRound.join(',')}) and its cached copy stayed fresh`);
          }
          for (const { events: delivered, outcomes } of settled) for (const [index, outcome] of outcomes.entries()) {
            const event = delivered[index];
            if (!(outcome instanceof Error)) undelivered.delete(event);
            if (outcome === 'projected') {
              const key = `${event.streamId}@${event.version}`;
              projected.set(key, (projected.get(key) ?? 0) + 1);
              if (!deletes) assert.equal(projected.get(key), 1, `seed ${seed} step ${step}: ${key} projected twice (${faultsThisRound.join(',')})`);
            }
          }
        }
        // Everything once more, faults or not, until no error: then the store says what the events say.
        for (let tries = 0; ; tries++) {
          const outcomes = await projectMany(target, flaky(() => 1), all, instances[tries % 2]).catch((error: Error) => all.map(() => error));
          if (outcomes.every((outcome) => !(outcome instanceof Error))) break;
          assert.ok(tries < 50, `seed ${seed}: final redeliveries keep failing`);
        }
        const stored = await Promise.all(ids.map(async (id) => (await real.get(id))?.document));
        if (!deletes) assert.deepEqual(stored, expected, `seed ${seed}: converged`);
        else {
          // A delete during the final pass may leave one gone.
          assert.ok(stored.every((document, index) => document === undefined || JSON.stringify(document) === JSON.stringify(expected[index])), `seed ${seed}: converged where present`);
        }
      }
      assert.ok(recalled > 0, 'the remembered copies were used');
    });
  }
});

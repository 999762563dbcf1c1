import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalHost } from '../../local/host';
import { compose } from '../../shared/kernel/composition';
import { rebuildAll } from '../../shared/kernel/rebuild';
import type { Services } from '../../shared/kernel/services';
import { loadSettings } from '../../shared/kernel/settings';
import { appModules, READ_CONTAINERS, READ_PROJECTIONS } from '../../shared/platform/app';
import { relayOutbox } from '../../shared/platform/outbox-relay';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { ADMIN, tokenFor } from '../support/tokens';

describe('no accepted command is lost', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const readModel = (id: string) => app.services.readStore.container<{ id: string; version: number }>('pharmacies').get(id);

  it('events committed but never published (a crash in between) reach the read model through the relay', async () => {
    const id = randomUUID();
    const { cnpj: _cnpj, ...profile } = pharmacyBody();
    await app.services.eventStore.append(`pharmacy-${id}`, 0, [
      {
        eventId: randomUUID(),
        type: 'PharmacyRegistered',
        data: { pharmacyId: id, ...profile, cnpj: '11222333000181', timeZone: 'America/Sao_Paulo', registeredAt: new Date().toISOString() },
        metadata: { correlationId: 'crash-test' },
      },
    ]);
    assert.equal(await readModel(id), undefined);
    assert.ok((await relayOutbox(app.services, undefined, 0)) >= 1);
    await app.settle();
    assert.equal((await readModel(id))?.document.version, 1);
    assert.equal((await app.services.eventStore.pendingOutbox(0, 1000)).length, 0, 'the outbox is drained');
  });

  it('a command whose publish fails still succeeds, and the relay delivers its events later', async () => {
    let failures = 0;
    const flakyBus = {
      ...app.services.bus,
      publish: async () => {
        failures += 1;
        throw new Error('bus unavailable');
      },
    };
    const modules = appModules(async () => ({ ...app.services, bus: flakyBus }));
    const register = modules.flatMap((m) => m.routes).find((r) => r.name === 'registerPharmacy')!.handler;
    const response = await invoke(register, { method: 'POST', path: 'pharmacies', body: pharmacyBody(), headers: { authorization: `Bearer ${app.adminToken}` } });
    assert.equal(response.status, 201);
    assert.equal(failures, 1);
    assert.ok(response.logs.some((line) => line.startsWith('warning: publish after commit failed')));
    assert.equal(await readModel(response.body.id), undefined);
    await relayOutbox(app.services, undefined, 0);
    await app.settle();
    assert.equal((await readModel(response.body.id))?.document.version, 1);
  });

  it('concurrent retries with one Idempotency-Key get the first answer, or 409 while it runs; one pharmacy exists', async () => {
    const body = pharmacyBody();
    const send = () => invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body, headers: { 'idempotency-key': `race-${body.cnpj}` } });
    const responses = await Promise.all(Array.from({ length: 5 }, send));
    const answered = responses.filter((r) => r.status === 201);
    const waiting = responses.filter((r) => r.status === 409);
    assert.equal(answered.length + waiting.length, responses.length, JSON.stringify(responses.map((r) => r.status)));
    assert.ok(answered.length >= 1);
    for (const response of waiting) {
      assert.equal(response.body.title, 'Request in progress');
      assert.ok(Number(response.headers.get('retry-after')) > 0);
    }
    // Once the first attempt has answered, every retry gets that answer.
    const later = await send();
    assert.equal(later.status, 201);
    assert.equal(new Set([...answered, later].map((r) => r.body.id)).size, 1);
  });
});

describe('the local host across a restart', () => {
  it('keeps the events on disk and rebuilds the read models from them at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-restart-'));
    const settings = loadSettings({ DATA_DIR: dataDir, SEED_DEMO_DATA: 'false', REQUEST_LOG: 'false' });
    const start = async () => {
      const services = await compose(settings, READ_CONTAINERS);
      await rebuildAll(services, READ_PROJECTIONS);
      const host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
      return { services, host };
    };
    const stop = async ({ services, host }: { services: Services; host: Awaited<ReturnType<typeof startLocalHost>> }) => {
      await host.stop();
      await services.close();
    };
    const first = await start();
    let created: { body: unknown };
    try {
      const asAdmin = { authorization: `Bearer ${await tokenFor(first.services, ADMIN)}` };
      created = await first.host.dispatch('POST', 'pharmacies', pharmacyBody({ tradeName: 'Sobrevivente' }), asAdmin);
      await first.host.dispatch('POST', `pharmacies/${(created.body as { id: string }).id}/closure`, undefined, asAdmin);
      await first.services.bus.idle?.();
    } finally {
      await stop(first);
    }

    const second = await start();
    try {
      const id = (created.body as { id: string }).id;
      const read = await fetch(`${second.host.url}/pharmacies/${id}`);
      const document = (await read.json()) as { tradeName: string; status: string; version: number };
      assert.deepEqual([document.tradeName, document.status, document.version], ['Sobrevivente', 'closed', 2]);
    } finally {
      await stop(second);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs the declared timers on their schedules', async () => {
    let ticks = 0;
    const module = {
      name: 'ticker',
      routes: [],
      eventHandlers: [],
      containers: [],
      timers: [{ name: 'tick', schedule: '* * * * * *', handler: async () => void (ticks += 1) }],
    };
    const fakeServices = { bus: { subscribe: () => {} } } as unknown as Services;
    const host = await startLocalHost({ modules: [module], services: fakeServices, port: 0, requestLog: false, log: () => {} });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await host.stop();
    assert.ok(ticks >= 1, `ticked ${ticks} times`);
  });
});

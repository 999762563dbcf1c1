// The app (`node dist/local/main.js`) killed with commands in flight and restarted, on a RabbitMQ node of the test's own: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { productStatus } from '../../shared/catalog/published';
import { compose } from '../../shared/kernel/composition';
import type { Services } from '../../shared/kernel/services';
import { loadSettings } from '../../shared/kernel/settings';
import { offerIdFor } from '../../shared/offers/commands';
import { READ_CONTAINERS } from '../../shared/platform/app';
import { pharmacyBody } from '../support/fixtures';
import { lostCommands, readModelDifferences, request, seedWorld, until, type Acknowledged, type Answer, type World } from '../support/fault-load';
import { offerBody } from '../support/fixtures';
import { privateRabbitMqUnavailable, RabbitMqNode } from '../support/rabbitmq-node';
import { ADMIN, tokenFor } from '../support/tokens';
import { suiteNeeding } from '../support/suite';
import { freePort } from '../support/free-port';
import { AppProcess } from '../support/app-process';

/**
 * Issue 12's fault suite, the app itself: `npm start`'s process is killed (SIGKILL: no
 * shutdown, commands half done, deliveries unacknowledged, events committed but not
 * published) while commands are in flight, then started again on the same SQLite event
 * store and the same Cosmos read store (a standalone local server the test runs, so the
 * read models outlive the app). Once more with the broker down at the restart. Afterwards
 * every acknowledged command is in the event store, the outbox drains, the reaction a
 * discontinuation triggered completes, and every read model equals a rebuild.
 */
const IN_FLIGHT = 8;
const CONVERGENCE_BOUND_MS = 45_000;


suiteNeeding('The app killed with commands in flight, and restarted', privateRabbitMqUnavailable(), () => {
  let node: RabbitMqNode;
  let cosmos: LocalCosmos;
  let dataDir: string;
  let app: AppProcess;
  let services: Services;
  let token: string;
  let world: World;
  const acknowledged: Acknowledged[] = [];

  before(async () => {
    node = await RabbitMqNode.start();
    cosmos = await startLocalCosmos();
    // The read store outlives the app: its containers are made once, here (the app makes none on a configured endpoint).
    const client = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, connectionPolicy: { enableEndpointDiscovery: false } });
    await (await CosmosReadStore.open(client, 'farmacias', READ_CONTAINERS, { createContainers: true })).close();
    dataDir = mkdtempSync(join(tmpdir(), 'farmacias-app-killed-'));
    const id = randomUUID().slice(0, 8);
    const port = await freePort();
    const shared = { DATA_DIR: dataDir, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', PASSWORD_SCRYPT_LOG2_N: '14' };
    // The test's own view of the same stores (its bus is in process and unused): tokens from the same keys, the checks.
    services = await compose(loadSettings(shared), READ_CONTAINERS);
    token = await tokenFor(services, ADMIN);
    app = new AppProcess(
      { ...shared, RABBITMQ_URL: node.url, RABBITMQ_EXCHANGE: `test-killed-${id}`, RABBITMQ_QUEUE_PREFIX: `test-killed-${id}.`, LOCAL_HOST_PORT: String(port) },
      `http://127.0.0.1:${port}/api`,
    );
    await app.start();
    world = await seedWorld(app.base, token, { pharmacies: 3, products: 1 });
  });
  after(async () => {
    await app?.kill();
    await services?.close();
    await cosmos?.stop();
    await node?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The streams the commands write, keyed as the projections name them. */
  const streamOf = (name: string, answer: Answer) => `${name === 'pharmacy' ? 'pharmacy-' : name === 'product' ? 'product-' : 'offer-'}${answer.body!.id as string}`;

  /** Commands of every kind, one after another: registering, changing, repricing, republishing. */
  function commands(round: number): { kind: string; send: () => Promise<Answer> }[] {
    const api = (method: string, path: string, body?: unknown) => request(app.base, token, method, path, body);
    return Array.from({ length: 60 }, (_, n) => {
      const pharmacyId = world.pharmacies[n % world.pharmacies.length];
      const offer = world.offers[n % world.offers.length];
      switch (n % 4) {
        case 0:
          return { kind: 'pharmacy', send: () => api('POST', 'pharmacies', pharmacyBody()) };
        case 1:
          return { kind: 'pharmacy', send: () => api('PATCH', `pharmacies/${pharmacyId}`, { tradeName: `Drogaria Reinício ${round}-${n}` }) };
        case 2:
          return { kind: 'offer', send: () => api('POST', `offers/${offer.id}/price`, { priceCents: 100 * round + n }) };
        default:
          return { kind: 'offer', send: () => api('POST', 'offers', offerBody(offer.pharmacyId, offer.productId, 200 * round + n, 20 + n)) };
      }
    });
  }

  /**
   * Runs the commands IN_FLIGHT at a time, discontinuing the toggled product among them
   * (its reaction withdraws offers through the bus), and kills the app once `killAfter`
   * answers are in: the rest are in flight (cut off by the kill) or refused (sent after it).
   */
  async function killInFlight(round: number, killAfter: number): Promise<{ acknowledged: number; cutOff: number; refused: number; conflicts: number; pending: number }> {
    const queue = commands(round);
    queue.splice(killAfter - 3, 0, { kind: 'product', send: () => request(app.base, token, 'POST', `products/${world.toggled.productId}/discontinuation`) });
    let answered = 0;
    let cutOff = 0;
    let refused = 0;
    let conflicts = 0;
    let killing: Promise<void> | undefined;
    const before = acknowledged.length;
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const sentBeforeKill = killing === undefined;
        const answer = await next.send();
        if (answer.status >= 200 && answer.status < 300) acknowledged.push({ name: next.kind, streamId: streamOf(next.kind, answer), version: answer.body!.version as number });
        else if (answer.status === 0 && sentBeforeKill) cutOff += 1;
        else if (answer.status === 0) refused += 1;
        // Two workers writing one stream at once: the second is refused (not acknowledged, so nothing to find later).
        else if (answer.status === 409 && (answer.body as { title?: string } | undefined)?.title === 'Concurrent modification') conflicts += 1;
        else assert.fail(`a command answered ${answer.status} before the kill: ${JSON.stringify(answer.body)}`);
        answered += 1;
        if (answered === killAfter) killing = app.kill();
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await killing;
    // Committed, not published: what the restarted app's relay (or, with the broker down, its timer later) must publish.
    const pending = (await services.eventStore.pendingOutbox(0, 1000)).length;
    return { acknowledged: acknowledged.length - before, cutOff, refused, conflicts, pending };
  }

  /**
   * The discontinuation's reaction completed: no offer of the product is active in the
   * event store while it is discontinued (the discontinuation may have been cut off
   * before its commit: then there is nothing to complete).
   */
  async function activeOffersOfDiscontinued(): Promise<number> {
    if ((await productStatus(services.eventStore, world.toggled.productId)) !== 'discontinued') return 0;
    let active = 0;
    for (const pharmacyId of world.toggled.pharmacies) {
      const events = await services.eventStore.readStream(`offer-${offerIdFor(pharmacyId, world.toggled.productId)}`);
      if (events[events.length - 1]?.type !== 'OfferWithdrawn') active += 1;
    }
    return active;
  }

  async function converged(what: string) {
    let last = '';
    const ms = await until(what, CONVERGENCE_BOUND_MS, async () => {
      if ((await services.eventStore.pendingOutbox(0, 1)).length > 0) return (last = 'outbox not empty'), false;
      if (await activeOffersOfDiscontinued()) return (last = 'offers of the discontinued product still active'), false;
      const differences = await readModelDifferences(services);
      last = differences.summary;
      return differences.count === 0;
    }).catch((error: Error) => assert.fail(`${error.message}; last: ${last}\n${app.history.slice(-6000)}`));
    const lost = await lostCommands(services, acknowledged);
    assert.deepEqual(lost, [], `${lost.length} acknowledged command(s) missing from the event store`);
    return { ms, summary: last };
  }

  it('killed mid-flight and restarted: nothing acknowledged is lost, the outbox drains, the reaction completes, read models = rebuild', async (t) => {
    const burst = await killInFlight(1, 20);
    const startMs = await app.start();
    const restartedAt = Date.now();
    const { ms, summary } = await converged('convergence after the restart');
    t.diagnostic(
      `killed with ${burst.cutOff} command(s) in flight (${burst.acknowledged} acknowledged before, ${burst.conflicts} concurrent-write 409s, ${burst.refused} refused after; ${burst.pending} event(s) committed, unpublished); restarted in ${startMs} ms; ` +
        `outbox drained, reaction complete and read models = rebuild ${ms} ms after it served (${Date.now() - restartedAt} ms); ${acknowledged.length} acknowledged so far, 0 lost; ${summary}`,
    );
  });

  it('killed mid-flight and restarted while the broker is down: it serves (degraded), and all converges once the broker is back', async (t) => {
    // The product is active again, so that this round's discontinuation has offers to withdraw.
    if ((await productStatus(services.eventStore, world.toggled.productId)) === 'discontinued') {
      assert.equal((await request(app.base, token, 'POST', `products/${world.toggled.productId}/reinstatement`)).status, 200);
    }
    for (const pharmacyId of world.toggled.pharmacies) {
      assert.equal((await request(app.base, token, 'POST', 'offers', offerBody(pharmacyId, world.toggled.productId, 2500))).status, 200);
    }
    const burst = await killInFlight(2, 25);
    await node.stop();
    const startMs = await app.start();
    const ready = await request(app.base, undefined, 'GET', 'health/ready');
    assert.equal(ready.status, 200);
    assert.equal((ready.body as { status: string }).status, 'degraded', 'readiness says degraded with the broker down');
    // Commands are accepted with the broker down (their events wait in the outbox), reads are served.
    const whileDown = await request(app.base, token, 'POST', 'pharmacies', pharmacyBody());
    assert.equal(whileDown.status, 201);
    acknowledged.push({ name: 'pharmacy', streamId: streamOf('pharmacy', whileDown), version: whileDown.body!.version as number });
    assert.equal((await request(app.base, token, 'GET', `pharmacies/${world.pharmacies[0]}`)).status, 200);

    await node.restart();
    const backAt = Date.now();
    const { ms, summary } = await converged('convergence after the broker came back');
    t.diagnostic(
      `killed with ${burst.cutOff} command(s) in flight (${burst.acknowledged} acknowledged before, ${burst.conflicts} concurrent-write 409s, ${burst.refused} refused after; ${burst.pending} event(s) committed, unpublished); restarted with the broker down in ${startMs} ms (readiness degraded); ` +
        `broker back: outbox drained, reaction complete and read models = rebuild ${ms} ms after (${Date.now() - backAt} ms); ${acknowledged.length} acknowledged in all, 0 lost; ${summary}`,
    );
  });
});

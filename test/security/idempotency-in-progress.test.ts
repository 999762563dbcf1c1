import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundedDatabase } from '../../shared/kernel/composition';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import { projectRoot } from '../../shared/kernel/project-root';
import { IDEMPOTENCY_CLAIM_LEASE_MS, IN_PROGRESS_RETRY_AFTER_SECONDS } from '../../shared/kernel/idempotency';
import type { EventStore } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { offerIdFor } from '../../shared/offers/commands';
import { appModules } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

type Response = Awaited<ReturnType<typeof invoke>>;

/**
 * docs/web.md's gap: a request retried while its first attempt still ran (the client gave
 * up waiting) ran alongside it, a feed reporting its lines as unchanged. The key is now
 * claimed before a request runs; these tests send the retries the way a client would.
 */
describe('an Idempotency-Key whose first attempt still runs', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  /** The event store seen through `wrap` (a slow or failing database). */
  const storeOver = (wrap: (store: EventStore) => Partial<EventStore>) => {
    const store = app.services.eventStore;
    const overrides = wrap(store);
    return new Proxy(store, {
      get: (target, property, receiver) => (property in overrides ? overrides[property as keyof EventStore] : Reflect.get(target, property, receiver)),
    });
  };
  /** The app on the test services, its event store seen through `wrap`. */
  const appOver = (wrap: (store: EventStore) => Partial<EventStore>) => appOn(storeOver(wrap));
  const appOn = (eventStore: EventStore) => {
    const services: Services = { ...app.services, eventStore };
    const modules = appModules(async () => services);
    const handler = (name: string) => modules.flatMap((module) => module.routes).find((route) => route.name === name)!.handler;
    return { services, handler };
  };
  const asAdmin = (key: string) => ({ authorization: `Bearer ${app.adminToken}`, 'idempotency-key': key });
  const post = async (name: string, body: unknown) => {
    const response = await invoke(app.handler(name), { method: 'POST', body });
    assert.ok(response.status < 300, JSON.stringify(response.body));
    return response.body.id as string;
  };
  const anOffer = async () => {
    const pharmacyId = await post('registerPharmacy', pharmacyBody({ tradeName: `Em curso ${randomUUID().slice(0, 8)}` }));
    const productId = await post('registerProduct', { ...demoProducts()[0], name: 'Em curso 500 mg', gtin: uniqueGtin() });
    await post('publishOffer', offerBody(pharmacyId, productId, 1000));
    return { pharmacyId, productId, offerId: offerIdFor(pharmacyId, productId) };
  };
  const versionOf = async (offerId: string) => (await app.services.eventStore.readStream(`offer-${offerId}`)).length;
  /** Every answer but the one that ran: 409 problem+json with Retry-After, or (arriving after it finished) its replay. */
  const assertWaitedOrReplayed = (others: Response[], ran: Response) => {
    for (const other of others) {
      if (other.status === 409) {
        assert.equal(other.headers.get('retry-after'), String(IN_PROGRESS_RETRY_AFTER_SECONDS));
        assert.match(other.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(other.body.title, 'Request in progress');
        assert.match(other.body.detail, /still being processed/);
      } else {
        assert.equal(other.headers.get('idempotent-replayed'), 'true', JSON.stringify(other.body));
        assert.deepEqual(other.body, ran.body);
      }
    }
  };

  it('runs one of 20 identical price changes sent at once; the others wait (409, Retry-After) and a later retry replays', async () => {
    const { offerId } = await anOffer();
    // A database that takes a moment to load: the first attempt is still running when the others arrive.
    const { handler } = appOver((store) => ({ loadStream: async (...args) => (await sleep(100), store.loadStream(...args)) }));
    const key = `price-${randomUUID()}`;
    const send = () => invoke(handler('changeOfferPrice'), { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 900 }, headers: asAdmin(key) });
    const responses = await Promise.all(Array.from({ length: 20 }, send));

    const ran = responses.filter((response) => response.status === 200 && response.headers.get('idempotent-replayed') === null);
    assert.equal(ran.length, 1, JSON.stringify(responses.map((response) => [response.status, response.body])));
    assert.deepEqual(ran[0].body, { id: offerId, version: 2 });
    assertWaitedOrReplayed(responses.filter((response) => response !== ran[0]), ran[0]);
    assert.ok(responses.some((response) => response.status === 409), 'the retries sent while it ran were told to wait');
    assert.equal(await versionOf(offerId), 2, 'one price change stored');

    const later = await send();
    assert.equal(later.status, 200);
    assert.equal(later.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(later.body, ran[0].body);
    // Another request under the key keeps its answer: 422, whether the first attempt runs or is done.
    const other = await invoke(handler('changeOfferPrice'), { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 1 }, headers: asAdmin(key) });
    assert.equal(other.status, 422);
  });

  it('runs one of 20 identical partner feeds sent at once: no retry reports the lines as unchanged', async () => {
    const { pharmacyId } = await anOffer();
    const products = await Promise.all([1, 2, 3].map(() => post('registerProduct', { ...demoProducts()[0], name: 'Em curso lote', gtin: uniqueGtin() })));
    const { handler } = appOver((store) => ({ loadStreams: async (...args) => (await sleep(100), store.loadStreams(...args)) }));
    const key = `feed-${randomUUID()}`;
    const items = products.map((productId, n) => offerBody(pharmacyId, productId, 500 + n));
    const send = () => invoke(handler('publishOfferBatch'), { method: 'POST', path: 'offers/batch', body: { items }, headers: asAdmin(key) });
    const responses = await Promise.all(Array.from({ length: 20 }, send));

    const ran = responses.filter((response) => response.status === 200 && response.headers.get('idempotent-replayed') === null);
    assert.equal(ran.length, 1, JSON.stringify(responses.map((response) => [response.status, response.body])));
    assert.deepEqual(ran[0].body.results.map((result: { status: number; unchanged?: true }) => [result.status, result.unchanged]), [[201, undefined], [201, undefined], [201, undefined]]);
    assertWaitedOrReplayed(responses.filter((response) => response !== ran[0]), ran[0]);
    assert.ok(responses.some((response) => response.status === 409));
    for (const productId of products) assert.equal(await versionOf(offerIdFor(pharmacyId, productId)), 1);
  });

  it('gives the key up when the attempt fails (a 4xx, a 503): a retry with the same key runs', async () => {
    const { offerId } = await anOffer();
    const key = `price-${randomUUID()}`;
    const send = (headers: Record<string, string>, handler = app.handler('changeOfferPrice')) =>
      invoke(handler, { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 800 }, headers: { ...asAdmin(key), ...headers } });
    const stale = await send({ 'if-match': '"7"' });
    assert.equal(stale.status, 412, 'refused: nothing recorded');

    const { handler: away } = appOver(() => ({
      append: async () => {
        throw new ServiceUnavailable('the database is unavailable for a moment', 5);
      },
    }));
    const unavailable = await send({}, away('changeOfferPrice'));
    assert.equal(unavailable.status, 503);

    const retried = await send({});
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'it ran: neither failure left an answer or a claim');
    assert.deepEqual(retried.body, { id: offerId, version: 2 });
  });

  it('frees the key of an attempt that died mid-run once its lease ends: until then a retry waits, then it runs', async () => {
    const { offerId } = await anOffer();
    const key = `price-${randomUUID()}`;
    // The process dies after claiming: nothing is appended, and nothing gives the claim up.
    const { handler: dying } = appOver(() => ({
      append: async () => {
        throw new Error('the process died');
      },
      releaseIdempotencyClaim: async () => {
        throw new Error('the process died');
      },
    }));
    const send = (handler = app.handler('changeOfferPrice')) =>
      invoke(handler, { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 700 }, headers: asAdmin(key) });
    await send(dying('changeOfferPrice'));

    const waiting = await send();
    assert.equal(waiting.status, 409, JSON.stringify(waiting.body));
    assert.equal(waiting.headers.get('retry-after'), String(IN_PROGRESS_RETRY_AFTER_SECONDS));

    const real = app.services.clock;
    app.services.clock = { now: () => new Date(real.now().getTime() + IDEMPOTENCY_CLAIM_LEASE_MS + 1_000) };
    try {
      const afterLease = await send();
      assert.equal(afterLease.status, 200, JSON.stringify(afterLease.body));
      assert.equal(afterLease.headers.get('idempotent-replayed'), null);
      assert.deepEqual(afterLease.body, { id: offerId, version: 2 });
      const replay = await send();
      assert.equal(replay.headers.get('idempotent-replayed'), 'true', 'its answer replaced the lapsed claim');
    } finally {
      app.services.clock = real;
    }
  });

  it('records the answer of a command that changed nothing, so its claim never lingers', async () => {
    const { offerId } = await anOffer();
    const key = `price-${randomUUID()}`;
    const send = () => invoke(app.handler('changeOfferPrice'), { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 1000 }, headers: asAdmin(key) });
    const unchanged = await send();
    assert.equal(unchanged.status, 200);
    assert.deepEqual(unchanged.body, { id: offerId, version: 1 }, 'the same price: nothing written');
    const retry = await send();
    assert.equal(retry.status, 200, 'not 409: the claim ended with the answer');
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.headers.get('etag'), unchanged.headers.get('etag'));
  });


  /**
   * A retry sent as if the stalled first attempt's lease had ended runs; the first attempt,
   * resumed, then finds the retry's answer recorded and answers that, replayed.
   */
  /** An app whose event store stalls after `read` (a load) until resumed: an attempt held past its lease. */
  function stallingAfter(read: 'loadStream' | 'loadStreams') {
    let loaded!: () => void;
    let resume!: () => void;
    const [hasLoaded, resumed] = [new Promise<void>((done) => (loaded = done)), new Promise<void>((done) => (resume = done))];
    const { handler: stalling } = appOver((store) => ({
      [read]: async (...args: unknown[]) => {
        const answer = await (store[read] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
        loaded();
        await resumed;
        return answer;
      },
    }));
    return { stalling, hasLoaded, resume };
  }

  async function retryPastTheLease(first: Promise<Response>, retry: () => Promise<Response>, resume: () => void): Promise<void> {
    const real = app.services.clock;
    app.services.clock = { now: () => new Date(real.now().getTime() + IDEMPOTENCY_CLAIM_LEASE_MS + 1_000) };
    let retried: Response;
    try {
      retried = await retry();
    } finally {
      app.services.clock = real;
    }
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'the claim had lapsed: the retry ran');
    resume();
    const late = await first;
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.headers.get('idempotent-replayed'), 'true', JSON.stringify(late.body));
    assert.deepEqual(late.body, retried.body);
  }

  it('gives up a claim that commits after its 503 once it has: a retry soon after runs, not held off for the lease', async () => {
    const { offerId } = await anOffer();
    // A database that answers the first claim after DATABASE_CALL_TIMEOUT_MS: the caller got its 503 before the claim committed.
    let frozen = true;
    const slowClaims = storeOver((store) => ({
      claimIdempotencyKey: async (claim) => {
        if (frozen) await sleep(150);
        frozen = false;
        return store.claimIdempotencyKey(claim);
      },
    }));
    const { handler } = appOn(boundedDatabase({ ...app.services.settings, databaseCallTimeoutMs: 50 }, slowClaims, app.services.dataKeys).eventStore);
    const key = `price-${randomUUID()}`;
    const send = () => invoke(handler('changeOfferPrice'), { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 650 }, headers: asAdmin(key) });
    const cutShort = await send();
    assert.equal(cutShort.status, 503, JSON.stringify(cutShort.body));

    await sleep(300);
    const retried = await send();
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'it ran');
    assert.deepEqual(retried.body, { id: offerId, version: 2 });
  });

  it('answers an attempt that outlived its lease with what its retry answered, not a conflict', async () => {
    const { offerId } = await anOffer();
    const key = `price-${randomUUID()}`;
    // The first attempt reads the offer, then stalls past its lease.
    const { stalling, hasLoaded, resume } = stallingAfter('loadStream');
    const send = (handler: ReturnType<typeof app.handler>) =>
      invoke(handler, { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 900 }, headers: asAdmin(key) });
    const first = send(stalling('changeOfferPrice'));
    await hasLoaded;

    await retryPastTheLease(first, () => send(app.handler('changeOfferPrice')), resume);
    assert.equal(await versionOf(offerId), 2, 'one price change stored');
  });

  it('lets a feed that outlived its lease write nothing once a retry took its key, and answer what the retry answered', async () => {
    const { pharmacyId } = await anOffer();
    const products = await Promise.all([1, 2].map(() => post('registerProduct', { ...demoProducts()[0], name: 'Em curso lote tardio', gtin: uniqueGtin() })));
    const { stalling, hasLoaded, resume } = stallingAfter('loadStreams');
    const key = `feed-${randomUUID()}`;
    const items = products.map((productId, n) => offerBody(pharmacyId, productId, 700 + n));
    const send = (handler: ReturnType<typeof app.handler>) => invoke(handler, { method: 'POST', path: 'offers/batch', body: { items }, headers: asAdmin(key) });
    const first = send(stalling('publishOfferBatch'));
    await hasLoaded;

    await retryPastTheLease(first, () => send(app.handler('publishOfferBatch')), resume);
    for (const productId of products) assert.equal(await versionOf(offerIdFor(pharmacyId, productId)), 1);
  });

  /**
   * A one-item keyed feed on an offer whose process dies the moment its items' transaction is
   * asked for (`before`) or has committed (`after`): nothing after that runs. Resolves once it
   * has died, with the offer and a sender of the same feed under the same key.
   */
  async function feedDying(when: 'before' | 'after') {
    const { pharmacyId, productId, offerId } = await anOffer();
    const key = `feed-${randomUUID()}`;
    const items = [offerBody(pharmacyId, productId, 700)];
    const send = (handler: ReturnType<typeof app.handler>) => invoke(handler, { method: 'POST', path: 'offers/batch', body: { items }, headers: asAdmin(key) });
    let died!: () => void;
    const hasDied = new Promise<void>((done) => (died = done));
    const { handler } = appOver((store) => ({
      appendMany: async (...args: Parameters<EventStore['appendMany']>) => {
        if (when === 'after') await store.appendMany(...args);
        died();
        return new Promise<never>(() => {});
      },
    }));
    void send(handler('publishOfferBatch'));
    await hasDied;
    return { offerId, send };
  }

  /** A retry sent once a dead attempt's claim has lapsed. */
  async function pastTheLease(retry: () => Promise<Response>): Promise<Response> {
    const real = app.services.clock;
    app.services.clock = { now: () => new Date(real.now().getTime() + IDEMPOTENCY_CLAIM_LEASE_MS + 1_000) };
    try {
      return await retry();
    } finally {
      app.services.clock = real;
    }
  }

  // The feed's answer was stored after its items' transaction: a process that died between the two left a claim, and the
  // retry the client sent after its lease ran the items again, undoing whatever changed meanwhile.
  it('replays a feed whose process died right after its items committed, and leaves a change made meanwhile standing', async () => {
    const { offerId, send } = await feedDying('after');
    const meanwhile = await invoke(app.handler('changeOfferPrice'), { method: 'POST', path: `offers/${offerId}/price`, params: { id: offerId }, body: { priceCents: 650 } });
    assert.equal(meanwhile.status, 200, JSON.stringify(meanwhile.body));

    const retried = await pastTheLease(() => send(app.handler('publishOfferBatch')));
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), 'true', JSON.stringify(retried.body));
    assert.deepEqual(retried.body.results.map((result: { status: number; version: number }) => [result.status, result.version]), [[200, 2]]);
    const stored = await app.services.eventStore.readStream(`offer-${offerId}`);
    assert.deepEqual(stored.map((event) => (event.data as { priceCents?: number }).priceCents), [1000, 700, 650], 'the feed ran once; the change after it stands');
  });

  it('runs a feed again whose process died before its items committed: nothing of it was written', async () => {
    const { offerId, send } = await feedDying('before');
    const held = await send(app.handler('publishOfferBatch'));
    assert.equal(held.status, 409, 'its claim holds the key until its lease ends');

    const retried = await pastTheLease(() => send(app.handler('publishOfferBatch')));
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'it ran');
    assert.equal(await versionOf(offerId), 2);
  });

  it('leases a claim a minute longer than the host lets a request run (host.json functionTimeout)', () => {
    const { functionTimeout } = JSON.parse(readFileSync(join(projectRoot(), 'host.json'), 'utf8')) as { functionTimeout: string };
    const [hours, minutes, seconds] = functionTimeout.split(':').map(Number);
    const longestRun = ((hours * 60 + minutes) * 60 + seconds) * 1000;
    assert.ok(IDEMPOTENCY_CLAIM_LEASE_MS >= longestRun + 60_000, `${IDEMPOTENCY_CLAIM_LEASE_MS} ms against a functionTimeout of ${functionTimeout}`);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConcurrencyConflict, IdempotencyKeyReused, ReservationTaken } from '../../shared/kernel/errors';
import { IN_PROGRESS_STAND_IN } from '../../shared/kernel/idempotency';
import type { EventStore, IdempotencyClaim, IdempotentResponse, NewEvent } from '../../shared/kernel/ports';

const event = (type = 'Something', data: object = { n: 1 }): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: { correlationId: 'c-1', actor: 'tester' },
});

const HOUR = 3_600_000;
/** The records' clock (the platform's), whole milliseconds as both engines keep them. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

const record = (key: string, fields: Partial<IdempotentResponse> = {}): IdempotentResponse => ({
  key,
  requestHash: 'h1',
  status: 201,
  body: { id: 'x', version: 1 },
  headers: {},
  createdAt: NOW,
  expiresAt: new Date(NOW.getTime() + 24 * HOUR),
  ...fields,
});

/** An attempt's "in progress" claim of a key, leased for a minute from NOW. */
const claim = (key: string, fields: Partial<IdempotencyClaim> = {}): IdempotencyClaim => ({
  key,
  requestHash: 'h1',
  owner: randomUUID(),
  createdAt: NOW,
  expiresAt: new Date(NOW.getTime() + 60_000),
  standIn: IN_PROGRESS_STAND_IN,
  ...fields,
});

/** The behaviour every EventStore adapter owes the pipeline. */
export function eventStoreContract(adapter: string, open: () => Promise<EventStore>) {
  describe(`EventStore contract: ${adapter}`, () => {
    const stream = () => `test-${randomUUID()}`;

    it('appends and reads a stream back in order, with versions, positions and metadata', async () => {
      const store = await open();
      const id = stream();
      const first = await store.append(id, 0, [event('A', { a: 1 }), event('B', { b: [1, 2] })]);
      const second = await store.append(id, 2, [event('C')]);
      const read = await store.readStream(id);
      assert.deepEqual(read.map((e) => [e.type, e.version]), [['A', 1], ['B', 2], ['C', 3]]);
      assert.deepEqual(read[1].data, { b: [1, 2] });
      assert.deepEqual(read[0].metadata, { correlationId: 'c-1', actor: 'tester' });
      assert.ok(first[0].position < first[1].position && first[1].position < second[0].position);
      assert.ok(!Number.isNaN(Date.parse(read[0].occurredAt)));
    });

    it('reads an unknown stream as empty', async () => {
      assert.deepEqual(await (await open()).readStream(stream()), []);
    });

    it('refuses an append at the wrong expected version and writes nothing', async () => {
      const store = await open();
      const id = stream();
      await store.append(id, 0, [event()]);
      await assert.rejects(store.append(id, 0, [event()]), ConcurrencyConflict);
      await assert.rejects(store.append(id, 2, [event()]), ConcurrencyConflict);
      assert.equal((await store.readStream(id)).length, 1);
    });

    it('lets exactly one of many concurrent appends at the same version win', async () => {
      const store = await open();
      const id = stream();
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.append(id, 0, [event()])));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConcurrencyConflict);
    });

    it('reads all events after a position, in global order', async () => {
      const store = await open();
      const [a] = await store.append(stream(), 0, [event('First')]);
      await store.append(stream(), 0, [event('Second')]);
      const after = await store.readAll(a.position - 1, 1000);
      assert.deepEqual(after.slice(0, 2).map((e) => e.type), ['First', 'Second']);
      assert.equal((await store.readAll(a.position - 1, 1)).length, 1);
    });

    it('holds a reservation for one stream only, atomically with the append', async () => {
      const store = await open();
      const value = randomUUID();
      const owner = stream();
      await store.append(owner, 0, [event()], { reservations: [{ scope: 'cnpj', value }] });
      await store.append(owner, 1, [event()], { reservations: [{ scope: 'cnpj', value }] });
      const other = stream();
      await assert.rejects(store.append(other, 0, [event()], { reservations: [{ scope: 'cnpj', value }] }), ReservationTaken);
      assert.deepEqual(await store.readStream(other), [], 'a refused reservation writes no event');
      await store.append(stream(), 0, [event()], { reservations: [{ scope: 'gtin', value }] });
    });

    it('releases a reservation with an append, so the value can be taken again', async () => {
      const store = await open();
      const value = randomUUID();
      const owner = stream();
      await store.append(owner, 0, [event()], { reservations: [{ scope: 'email', value }] });
      assert.equal(await store.findReservation('email', value), owner);
      await store.append(owner, 1, [event()], { releases: [{ scope: 'email', value }] });
      assert.equal(await store.findReservation('email', value), undefined);
      const next = stream();
      await store.append(next, 0, [event()], { reservations: [{ scope: 'email', value }] });
      assert.equal(await store.findReservation('email', value), next);
    });

    it('stores an idempotent response with the append and refuses the key a second time', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const response = record(key, { status: 201, body: { id: 'x', version: 1 }, headers: { location: '/x' }, subject: 'person-1' });
      await store.append(stream(), 0, [event()], { idempotency: response });
      assert.deepEqual(await store.findIdempotentResponse(key, NOW), response);
      const other = stream();
      await assert.rejects(store.append(other, 0, [event()], { idempotency: response }), IdempotencyKeyReused);
      assert.deepEqual(await store.readStream(other), []);
      assert.equal(await store.findIdempotentResponse(`test:${randomUUID()}`, NOW), undefined);
    });

    it('stores a standalone idempotent response once', async () => {
      const store = await open();
      const key = `batch:${randomUUID()}`;
      const response = record(key, { status: 200, body: { results: [] }, headers: {} });
      await store.saveIdempotentResponse(response);
      assert.deepEqual(await store.findIdempotentResponse(key, NOW), response);
      await assert.rejects(store.saveIdempotentResponse({ ...response, requestHash: 'other' }), IdempotencyKeyReused);
    });

    it('never answers with an expired idempotency record, and lets its key be used afresh', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const first = record(key, { createdAt: new Date(NOW.getTime() - 2 * HOUR), expiresAt: new Date(NOW.getTime() - HOUR) });
      await store.saveIdempotentResponse(first);
      assert.equal(await store.findIdempotentResponse(key, NOW), undefined, 'expired at NOW');
      assert.deepEqual(await store.findIdempotentResponse(key, new Date(NOW.getTime() - 90 * 60_000)), first, 'alive before');
      const again = record(key, { requestHash: 'h2', body: { id: 'y', version: 1 } });
      await store.append(stream(), 0, [event()], { idempotency: again });
      assert.deepEqual(await store.findIdempotentResponse(key, NOW), again);
    });

    it('purges the idempotency records expired at a time, and only those', async () => {
      const store = await open();
      const [old, young] = [`test:${randomUUID()}`, `test:${randomUUID()}`];
      const expiresAt = new Date(NOW.getTime() + 10 * HOUR);
      await store.saveIdempotentResponse(record(old, { createdAt: NOW, expiresAt }));
      await store.saveIdempotentResponse(record(young, { createdAt: NOW, expiresAt: new Date(expiresAt.getTime() + 1) }));
      const purged = await store.purgeIdempotentResponses(expiresAt);
      assert.ok(purged >= 1, `purged ${purged}`);
      assert.equal(await store.findIdempotentResponse(old, NOW), undefined);
      assert.equal((await store.findIdempotentResponse(young, NOW))?.key, young);
      assert.equal(await store.purgeIdempotentResponses(expiresAt), 0, 'nothing else expired then');
    });

    it('deletes a person’s idempotency records with the append that erases them, and nobody else’s', async () => {
      const store = await open();
      const [person, other] = [randomUUID(), randomUUID()];
      const keys = [`registerUser:anonymous:${randomUUID()}`, `assignRoles:${person}:${randomUUID()}`, `assignRoles:${other}:${randomUUID()}`];
      await store.append(stream(), 0, [event()], { idempotency: record(keys[0], { subject: person }) });
      await store.saveIdempotentResponse(record(keys[1], { subject: person }));
      await store.saveIdempotentResponse(record(keys[2], { subject: other }));
      await store.append(stream(), 0, [event('Erased')], { erasedSubjects: [person] });
      assert.equal(await store.findIdempotentResponse(keys[0], NOW), undefined);
      assert.equal(await store.findIdempotentResponse(keys[1], NOW), undefined);
      assert.equal((await store.findIdempotentResponse(keys[2], NOW))?.subject, other);
    });

    it('keeps a person’s idempotency records when the erasing append is refused', async () => {
      const store = await open();
      const person = randomUUID();
      const key = `assignRoles:${person}:${randomUUID()}`;
      await store.saveIdempotentResponse(record(key, { subject: person }));
      const account = stream();
      await store.append(account, 0, [event()]);
      await assert.rejects(store.append(account, 0, [event()], { erasedSubjects: [person] }), ConcurrencyConflict);
      assert.equal((await store.findIdempotentResponse(key, NOW))?.subject, person);
    });

    it('claims a free key for one attempt: claims of the same key at once find it in progress, and nothing to replay yet', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const claims = Array.from({ length: 8 }, () => claim(key));
      const outcomes = await Promise.all(claims.map((attempt) => store.claimIdempotencyKey(attempt)));
      assert.equal(outcomes.filter((outcome) => 'claimed' in outcome).length, 1, JSON.stringify(outcomes));
      for (const outcome of outcomes.filter((found) => !('claimed' in found))) {
        assert.ok('inProgress' in outcome, JSON.stringify(outcome));
        assert.equal(outcome.inProgress.requestHash, 'h1');
        assert.equal(outcome.inProgress.expiresAt.getTime(), NOW.getTime() + 60_000);
      }
      assert.equal(await store.findIdempotentResponse(key, NOW), undefined, 'a claim is no answer');
      // Claiming again with the same attempt (a transient retry of the claim) keeps it claimed.
      const owner = claims[outcomes.findIndex((outcome) => 'claimed' in outcome)];
      assert.deepEqual(await store.claimIdempotencyKey(owner), { claimed: true });
    });

    it('gives a key to exactly one of 20 attempts claiming it at once, and the claim is that attempt’s alone', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const claims = Array.from({ length: 20 }, () => claim(key));
      const outcomes = await Promise.all(claims.map((attempt) => store.claimIdempotencyKey(attempt)));
      const winners = claims.filter((_, index) => 'claimed' in outcomes[index]);
      assert.equal(winners.length, 1, JSON.stringify(outcomes));
      assert.equal(outcomes.filter((outcome) => 'inProgress' in outcome).length, 19, JSON.stringify(outcomes));
      // The losers' releases leave the winner's claim; the winner's frees the key.
      await Promise.all(claims.filter((attempt) => attempt !== winners[0]).map((attempt) => store.releaseIdempotencyClaim(key, attempt.owner)));
      assert.ok('inProgress' in (await store.claimIdempotencyKey(claim(key))), 'still the winner’s');
      await store.releaseIdempotencyClaim(key, winners[0].owner);
      assert.deepEqual(await store.claimIdempotencyKey(claim(key)), { claimed: true });
    });

    it('replaces an attempt’s claim with its answer, by append or standalone; another attempt’s answer is refused', async () => {
      const store = await open();
      const [appended, saved] = [`test:${randomUUID()}`, `batch:${randomUUID()}`];
      const [first, second] = [claim(appended), claim(saved)];
      await store.claimIdempotencyKey(first);
      await store.claimIdempotencyKey(second);
      const other = stream();
      await assert.rejects(store.append(other, 0, [event()], { idempotency: record(appended, { owner: randomUUID() }) }), IdempotencyKeyReused);
      assert.deepEqual(await store.readStream(other), [], 'refused with its events');
      await assert.rejects(store.saveIdempotentResponse(record(saved)), IdempotencyKeyReused, 'no owner: the claim holds');

      const answer = record(appended, { subject: 'person-1' });
      await store.append(stream(), 0, [event()], { idempotency: { ...answer, owner: first.owner } });
      assert.deepEqual(await store.findIdempotentResponse(appended, NOW), answer);
      const batch = record(saved, { status: 200, body: { results: [] } });
      await store.saveIdempotentResponse({ ...batch, owner: second.owner });
      assert.deepEqual(await store.findIdempotentResponse(saved, NOW), batch);
      // Claimed afterwards: the answer, to replay.
      assert.deepEqual(await store.claimIdempotencyKey(claim(appended)), { answered: answer });
      // Its owner's release no longer touches the answer.
      await store.releaseIdempotencyClaim(appended, first.owner);
      assert.deepEqual(await store.findIdempotentResponse(appended, NOW), answer);
    });

    it('frees a key when its attempt releases the claim, and only then (another owner’s release changes nothing)', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const first = claim(key);
      await store.claimIdempotencyKey(first);
      await store.releaseIdempotencyClaim(key, randomUUID());
      assert.ok('inProgress' in (await store.claimIdempotencyKey(claim(key))), 'still held');
      await store.releaseIdempotencyClaim(key, first.owner);
      assert.deepEqual(await store.claimIdempotencyKey(claim(key, { requestHash: 'h2' })), { claimed: true }, 'free again');
    });

    it('lets a lapsed claim (its attempt crashed) be claimed again, and purges lapsed claims', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const crashed = claim(key);
      await store.claimIdempotencyKey(crashed);
      const lapsed = new Date(crashed.expiresAt.getTime());
      const retry = claim(key, { createdAt: lapsed, expiresAt: new Date(lapsed.getTime() + 60_000) });
      assert.deepEqual(await store.claimIdempotencyKey(retry), { claimed: true });
      // The crashed attempt, should it finish after all, cannot replace the retry's claim.
      await assert.rejects(store.saveIdempotentResponse(record(key, { createdAt: lapsed, owner: crashed.owner })), IdempotencyKeyReused);

      const abandoned = `test:${randomUUID()}`;
      await store.claimIdempotencyKey(claim(abandoned));
      assert.ok((await store.purgeIdempotentResponses(new Date(NOW.getTime() + 60_000))) >= 1);
      assert.deepEqual(await store.claimIdempotencyKey(claim(abandoned)), { claimed: true }, 'purged: free at NOW');
    });

    it('deletes a person’s claims with the append that erases them', async () => {
      const store = await open();
      const person = randomUUID();
      const key = `assignRoles:${person}:${randomUUID()}`;
      await store.claimIdempotencyKey(claim(key, { subject: person }));
      await store.append(stream(), 0, [event('Erased')], { erasedSubjects: [person] });
      assert.deepEqual(await store.claimIdempotencyKey(claim(key)), { claimed: true }, 'the claim went with the erasure');
    });

    it('keeps every appended event in the outbox until it is marked published', async () => {
      const store = await open();
      const appended = await store.append(stream(), 0, [event('Out1'), event('Out2')]);
      const ids = appended.map((e) => e.eventId);
      const pending = (await store.pendingOutbox(0, 10_000)).map((e) => e.eventId);
      assert.ok(ids.every((id) => pending.includes(id)));
      assert.equal((await store.pendingOutbox(60_000, 10_000)).filter((e) => ids.includes(e.eventId)).length, 0, 'too young');
      await store.markPublished([ids[0]]);
      const left = (await store.pendingOutbox(0, 10_000)).map((e) => e.eventId);
      assert.ok(!left.includes(ids[0]) && left.includes(ids[1]));
    });

    it('lists streams under an index key, committed with the append, once each', async () => {
      const store = await open();
      const key = randomUUID();
      const [a, b] = [stream(), stream()].sort();
      await store.append(a, 0, [event()], { indexes: [{ name: 'offers-by-product', key }] });
      await store.append(a, 1, [event()], { indexes: [{ name: 'offers-by-product', key }] });
      await store.append(b, 0, [event()], { indexes: [{ name: 'offers-by-product', key }, { name: 'other', key }] });
      assert.deepEqual(await store.readIndex('offers-by-product', key), [a, b]);
      assert.deepEqual(await store.readIndex('other', key), [b]);
      await assert.rejects(store.append(stream(), 0, [event()], { indexes: [{ name: 'offers-by-product', key }], reservations: [{ scope: 'x', value: key }] }).then(() =>
        store.append(stream(), 0, [event()], { indexes: [{ name: 'offers-by-product', key: 'never' }], reservations: [{ scope: 'x', value: key }] }),
      ), ReservationTaken);
      assert.deepEqual(await store.readIndex('offers-by-product', 'never'), [], 'a refused append indexes nothing');
    });

    it('reads a slice of a stream: after a version, up to a limit', async () => {
      const store = await open();
      const id = stream();
      await store.append(id, 0, [event('A'), event('B'), event('C'), event('D')]);
      assert.deepEqual((await store.readStream(id, { afterVersion: 2 })).map((e) => e.type), ['C', 'D']);
      assert.deepEqual((await store.readStream(id, { afterVersion: 1, limit: 2 })).map((e) => e.type), ['B', 'C']);
      assert.deepEqual(await store.readStream(id, { afterVersion: 4 }), []);
    });

    it('keeps the newest snapshot per stream and schema', async () => {
      const store = await open();
      const id = stream();
      assert.equal(await store.readSnapshot(id, 'thing-v1'), undefined);
      await store.writeSnapshot(id, 'thing-v1', { version: 50, state: { count: 50, tags: ['a'] } });
      await store.writeSnapshot(id, 'thing-v1', { version: 40, state: { count: 40 } });
      assert.deepEqual(await store.readSnapshot(id, 'thing-v1'), { version: 50, state: { count: 50, tags: ['a'] } });
      await store.writeSnapshot(id, 'thing-v1', { version: 100, state: { count: 100 } });
      assert.equal((await store.readSnapshot(id, 'thing-v1'))?.version, 100);
      assert.equal(await store.readSnapshot(id, 'thing-v2'), undefined, 'another schema is another snapshot');
    });

    it('loads a stream in one read: a snapshot newer than the version held, and the events after the newer of the two', async () => {
      const store = await open();
      const id = stream();
      assert.deepEqual(await store.loadStream(id, 'thing-v1', 0), { events: [] }, 'an unknown stream');
      await store.append(id, 0, [event('A'), event('B'), event('C'), event('D')]);
      const whole = await store.loadStream(id, 'thing-v1', 0);
      assert.equal(whole.snapshot, undefined);
      assert.deepEqual(whole.events.map((e) => [e.type, e.version]), [['A', 1], ['B', 2], ['C', 3], ['D', 4]]);
      await store.writeSnapshot(id, 'thing-v1', { version: 2, state: { seen: ['A', 'B'] } });
      const fromSnapshot = await store.loadStream(id, 'thing-v1', 0);
      assert.deepEqual(fromSnapshot.snapshot, { version: 2, state: { seen: ['A', 'B'] } });
      assert.deepEqual(fromSnapshot.events.map((e) => e.type), ['C', 'D']);
      const held = await store.loadStream(id, 'thing-v1', 3);
      assert.equal(held.snapshot, undefined, 'a snapshot older than the state held is not sent');
      assert.deepEqual(held.events.map((e) => e.type), ['D']);
      assert.deepEqual((await store.loadStream(id, 'thing-v1', 4)).events, [], 'nothing new');
      assert.equal((await store.loadStream(id, 'thing-v2', 0)).snapshot, undefined, 'another schema');
    });

    it('stores a snapshot with the append that reaches it, and none with an append refused', async () => {
      const store = await open();
      const id = stream();
      await store.append(id, 0, [event('A'), event('B')], { snapshot: { schema: 'thing-v1', snapshot: { version: 2, state: { n: 2 } } } });
      assert.deepEqual(await store.readSnapshot(id, 'thing-v1'), { version: 2, state: { n: 2 } });
      await assert.rejects(store.append(id, 1, [event('C')], { snapshot: { schema: 'thing-v1', snapshot: { version: 3, state: { n: 3 } } } }), ConcurrencyConflict);
      assert.equal((await store.readSnapshot(id, 'thing-v1'))?.version, 2);
      await store.writeSnapshot(id, 'thing-v1', { version: 10, state: { n: 10 } });
      await store.append(id, 2, [event('C')], { snapshot: { schema: 'thing-v1', snapshot: { version: 3, state: { n: 3 } } } });
      assert.equal((await store.readSnapshot(id, 'thing-v1'))?.version, 10, 'a newer one is kept');
    });

    it('names the scope of the reservation that is taken, whichever of several it is', async () => {
      const store = await open();
      const [cnpj, email] = [randomUUID(), randomUUID()];
      await store.append(stream(), 0, [event()], { reservations: [{ scope: 'email', value: email }] });
      const refused = await store.append(stream(), 0, [event()], { reservations: [{ scope: 'cnpj', value: cnpj }, { scope: 'email', value: email }] }).catch((error: unknown) => error);
      assert.ok(refused instanceof ReservationTaken, String(refused));
      assert.equal(refused.scope, 'email');
      assert.equal(await store.findReservation('cnpj', cnpj), undefined, 'the free one is not kept either');
    });

    it('appends to many streams in one transaction, each with its outbox rows, index entries and snapshot', async () => {
      const store = await open();
      const [fresh, held, key] = [stream(), stream(), randomUUID()];
      await store.append(held, 0, [event('Earlier')]);
      const result = await store.appendMany([
        { streamId: fresh, expectedVersion: 0, events: [event('A'), event('B')], options: { indexes: [{ name: 'offers-by-product', key }] } },
        { streamId: held, expectedVersion: 1, events: [event('C')], options: { snapshot: { schema: 'thing-v1', snapshot: { version: 2, state: { n: 2 } } } } },
      ]);
      assert.ok('stored' in result, JSON.stringify(result));
      assert.deepEqual(result.stored[0].map((e) => [e.streamId, e.version, e.type]), [[fresh, 1, 'A'], [fresh, 2, 'B']]);
      assert.deepEqual(result.stored[1].map((e) => [e.streamId, e.version, e.type]), [[held, 2, 'C']]);
      assert.deepEqual((await store.readStream(fresh)).map((e) => e.eventId), result.stored[0].map((e) => e.eventId));
      assert.deepEqual(await store.readIndex('offers-by-product', key), [fresh]);
      assert.deepEqual(await store.readSnapshot(held, 'thing-v1'), { version: 2, state: { n: 2 } });
      const pending = new Set((await store.pendingOutbox(0, 100_000)).map((e) => e.eventId));
      for (const stored of result.stored.flat()) assert.ok(pending.has(stored.eventId), 'in the outbox');
      assert.deepEqual(await store.appendMany([]), { stored: [] });
      await assert.rejects(store.appendMany([{ streamId: fresh, expectedVersion: 2, events: [event()] }, { streamId: fresh, expectedVersion: 2, events: [event()] }]));
    });

    it('appends to many streams all or nothing: a stream at another version is reported, and nothing is written', async () => {
      const store = await open();
      const [fresh, moved, held, key] = [stream(), stream(), stream(), randomUUID()];
      await store.append(moved, 0, [event('Earlier')]);
      await store.append(held, 0, [event('Earlier'), event('Later')]);
      const result = await store.appendMany([
        { streamId: fresh, expectedVersion: 0, events: [event('A')], options: { indexes: [{ name: 'offers-by-product', key }] } },
        { streamId: moved, expectedVersion: 0, events: [event('Late')], options: { indexes: [{ name: 'offers-by-product', key }] } },
        { streamId: held, expectedVersion: 1, events: [event('C')], options: { snapshot: { schema: 'thing-v1', snapshot: { version: 2, state: { n: 2 } } } } },
      ]);
      assert.deepEqual(result, { conflicts: [{ index: 1, current: 1 }, { index: 2, current: 2 }] });
      assert.deepEqual(await store.readStream(fresh), [], 'the stream at its version got nothing either');
      assert.deepEqual((await store.readStream(moved)).map((e) => e.type), ['Earlier']);
      assert.deepEqual(await store.readIndex('offers-by-product', key), [], 'nor an index entry');
      assert.equal(await store.readSnapshot(held, 'thing-v1'), undefined, 'nor a snapshot');
    });

    it('stores an answer in place of the claim in the transaction of the appends, and not when they conflict', async () => {
      const store = await open();
      const [key, conflicting] = [`test:${randomUUID()}`, `test:${randomUUID()}`];
      const [fresh, moved] = [stream(), stream()];
      await store.append(moved, 0, [event('Earlier')]);
      const refused = claim(conflicting);
      await store.claimIdempotencyKey(refused);
      const refusedAnswer = record(conflicting, { owner: refused.owner });
      const conflicts = await store.appendMany([{ streamId: moved, expectedVersion: 0, events: [event()] }], { claim: { key: conflicting, owner: refused.owner }, answer: refusedAnswer });
      assert.ok('conflicts' in conflicts);
      assert.equal(await store.findIdempotentResponse(conflicting, NOW), undefined, 'the claim stays, no answer');
      assert.deepEqual(await store.claimIdempotencyKey(claim(conflicting)), { inProgress: { requestHash: refused.requestHash, expiresAt: refused.expiresAt } });

      const first = claim(key);
      await store.claimIdempotencyKey(first);
      const answer = record(key, { owner: first.owner, body: { results: [{ index: 0, status: 201 }] } });
      const result = await store.appendMany([{ streamId: fresh, expectedVersion: 0, events: [event()] }], { claim: { key, owner: first.owner }, answer });
      assert.ok('stored' in result);
      const { owner: _owner, ...stored } = answer;
      assert.deepEqual(await store.findIdempotentResponse(key, NOW), stored);
      assert.deepEqual(await store.claimIdempotencyKey(claim(key)), { answered: stored }, 'a retry is answered it');
      await assert.rejects(store.appendMany([], { claim: { key, owner: 'someone-else' }, answer }), /claim/, 'an answer goes with its own claim only');
    });

    it('stores an answer under its claim with nothing to append, as saveIdempotentResponse does', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const first = claim(key);
      await store.claimIdempotencyKey(first);
      const answer = record(key, { owner: first.owner });
      assert.deepEqual(await store.appendMany([], { claim: { key, owner: first.owner }, answer }), { stored: [] });
      const { owner: _owner, ...stored } = answer;
      assert.deepEqual(await store.findIdempotentResponse(key, NOW), stored);
    });

    it('appends to many streams under an attempt’s claim only while that claim is the key’s row, lapsed or not', async () => {
      const store = await open();
      const key = `test:${randomUUID()}`;
      const lapsed = new Date(NOW.getTime() + 120_000);
      const first = claim(key);
      await store.claimIdempotencyKey(first);
      const [held, taken] = [stream(), stream()];
      // Its lease is over, but no other attempt took the key: the attempt still commits.
      assert.ok('stored' in (await store.appendMany([{ streamId: held, expectedVersion: 0, events: [event()] }], { claim: { key, owner: first.owner } })));
      const retry = claim(key, { createdAt: lapsed, expiresAt: new Date(lapsed.getTime() + 60_000) });
      assert.deepEqual(await store.claimIdempotencyKey(retry), { claimed: true });
      await assert.rejects(store.appendMany([{ streamId: taken, expectedVersion: 0, events: [event()] }], { claim: { key, owner: first.owner } }), IdempotencyKeyReused);
      await assert.rejects(store.appendMany([], { claim: { key, owner: first.owner }, answer: record(key, { owner: first.owner }) }), IdempotencyKeyReused, 'nor an answer with nothing to append');
      await store.saveIdempotentResponse(record(key, { createdAt: lapsed, expiresAt: new Date(lapsed.getTime() + HOUR), owner: retry.owner }));
      await assert.rejects(store.appendMany([{ streamId: taken, expectedVersion: 0, events: [event()] }], { claim: { key, owner: retry.owner } }), IdempotencyKeyReused, 'an answer is no claim');
      assert.deepEqual(await store.readStream(taken), [], 'nothing written');
    });

    it('loads many streams in one call, each as loadStream would', async () => {
      const store = await open();
      // b's id needs quoting in JSON and SQL alike.
      const [a, b, none] = [stream(), `${stream()}-'"ç\\`, stream()];
      await store.append(a, 0, [event('A1'), event('A2'), event('A3')], { snapshot: { schema: 'thing-v1', snapshot: { version: 2, state: { n: 2 } } } });
      await store.append(b, 0, [event('B1')]);
      const requests = [
        { streamId: a, schema: 'thing-v1', afterVersion: 0 },
        { streamId: b, schema: 'thing-v1', afterVersion: 0 },
        { streamId: none, schema: 'thing-v1', afterVersion: 0 },
        { streamId: a, schema: 'other-v1', afterVersion: 1 },
        // The snapshot no newer than what the caller holds, then nothing after the last event.
        { streamId: a, schema: 'thing-v1', afterVersion: 2 },
        { streamId: a, schema: 'thing-v1', afterVersion: 3 },
      ];
      const loads = await store.loadStreams(requests);
      const one = await Promise.all(requests.map((r) => store.loadStream(r.streamId, r.schema, r.afterVersion)));
      assert.deepEqual(loads, one);
      assert.deepEqual(loads[0].snapshot, { version: 2, state: { n: 2 } });
      assert.deepEqual(loads[0].events.map((e) => e.type), ['A3']);
      assert.deepEqual(loads[1].events.map((e) => [e.streamId, e.type]), [[b, 'B1']]);
      assert.deepEqual(loads[3].events.map((e) => e.type), ['A2', 'A3']);
      assert.deepEqual(loads[4], { events: [loads[0].events[0]] });
      assert.deepEqual(loads[5], { events: [] });
      assert.deepEqual(await store.loadStreams([]), []);
    });

    it('answers a ping', async () => {
      await (await open()).ping();
    });
  });
}

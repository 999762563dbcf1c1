import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvocationContext, type Timer } from '@azure/functions';
import Database from 'better-sqlite3';
import { canonicalJson, IDEMPOTENCY_RECORD_TTL_MS, requestFingerprint } from '../../shared/kernel/idempotency';
import { testApp } from '../support/app';
import { invoke } from '../support/http';
import { tokenFor } from '../support/tokens';

/**
 * Issue 11, item 4: an idempotency record held an unsalted SHA-256 of the whole request
 * body (a registration's password included) forever, outlived the account's erasure and
 * replayed the erased account's id. Each test attacks the record the way described.
 */
describe('idempotency records', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const person = (password = `a long passphrase ${randomUUID()}`) => ({
    email: `pessoa.${randomUUID()}@exemplo.com.br`,
    password,
    name: 'Pessoa de Teste',
  });
  const register = (body: unknown, key: string, rawBody?: string) =>
    invoke(app.handler('registerUser', { as: 'anonymous' }), {
      method: 'POST',
      path: 'auth/register',
      ...(rawBody === undefined ? { body } : { rawBody }),
      headers: { 'idempotency-key': key },
    });
  const recordOf = (key: string) => app.services.eventStore.findIdempotentResponse(`registerUser:anonymous:${key}`, app.services.clock.now());
  /** Every idempotency row as the database file holds it: what a stolen copy would show. */
  const storedRows = () => {
    const db = new Database(join(app.services.settings.dataDir, 'events.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM idempotency_keys').all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };
  const withClockAt = async <T>(at: Date, work: () => Promise<T>) => {
    const real = app.services.clock;
    app.services.clock = { now: () => at };
    try {
      return await work();
    } finally {
      app.services.clock = real;
    }
  };

  it('fingerprints a registration with a keyed hash: not SHA-256 of the body, and not verifiable without the key', async () => {
    const body = person();
    const key = `reg-${randomUUID()}`;
    const registered = await register(body, key);
    assert.equal(registered.status, 201);
    const record = await recordOf(key);
    assert.ok(record, 'the record is stored');

    // What the old code stored, and what an attacker with a database copy would compute.
    const sha = (text: string) => createHash('sha256').update(text).digest('base64url');
    for (const text of [`POST /api/auth/register\n${JSON.stringify(body)}`, `POST /api/auth/register\n${canonicalJson(body)}`, JSON.stringify(body), canonicalJson(body)]) {
      assert.notEqual(record.requestHash, sha(text), 'an unkeyed SHA-256 of the body');
    }
    // A guess of the password cannot be checked without the key: not with another key, not with the index key itself.
    const guess = (hmacKey: Buffer) => createHmac('sha256', hmacKey).update(`POST /api/auth/register\n${canonicalJson(body)}`).digest('base64url');
    assert.notEqual(record.requestHash, guess(randomBytes(32)));
    assert.notEqual(record.requestHash, guess(app.services.secrets.indexKey), 'a key of its own, derived, not the e-mail index key');
    // With the platform's key (and only with it), the right body verifies.
    assert.equal(record.requestHash, requestFingerprint(app.services.secrets, 'POST', '/api/auth/register', body));
    assert.notEqual(record.requestHash, requestFingerprint({ indexKey: randomBytes(32) }, 'POST', '/api/auth/register', body));

    // The record holds the answer (id and version), the owner and the lifetime; no password, in any form.
    assert.deepEqual(record.body, { id: registered.body.id, version: 1 });
    assert.equal(record.subject, registered.body.id, 'owned by the account it made');
    assert.equal(record.expiresAt.getTime() - record.createdAt.getTime(), IDEMPOTENCY_RECORD_TTL_MS);
    const rows = JSON.stringify(storedRows());
    assert.ok(!rows.includes(body.password) && !rows.includes(body.email), 'nothing of the request in clear');
  });

  it('replays a retry whose members come in another order (canonical JSON), and refuses another password', async () => {
    const body = person();
    const key = `reg-${randomUUID()}`;
    const first = await register(body, key);
    assert.equal(first.status, 201);
    const reordered = `{"password":${JSON.stringify(body.password)},"name":${JSON.stringify(body.name)},"email":${JSON.stringify(body.email)}}`;
    const retry = await register(undefined, key, reordered);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.id, first.body.id);
    const other = await register({ ...body, password: `${body.password} changed` }, key);
    assert.equal(other.status, 422, 'another request under the same key');
  });

  it('deletes an erased person’s records with the erasure: a replay of their key does not return their id', async () => {
    const body = person();
    const key = `reg-${randomUUID()}`;
    const registered = await register(body, key);
    assert.equal(registered.status, 201);
    const userId = registered.body.id;
    assert.equal((await register(body, key)).body.id, userId, 'replayed before the erasure');

    const token = await tokenFor(app.services, { subject: userId, roles: ['customer'] });
    const erased = await invoke(app.handler('eraseMe', { as: 'anonymous' }), { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));

    assert.equal(await recordOf(key), undefined, 'the record went with the erasure');
    assert.ok(!JSON.stringify(storedRows()).includes(userId), 'no row names the erased account');
    const replay = await register(body, key);
    assert.equal(replay.headers.get('idempotent-replayed'), null);
    assert.notEqual(replay.body?.id, userId, 'the erased account’s id is never answered again');
  });

  it('never replays an expired record: the key counts as new after 24 h, and the purge timer deletes it', async () => {
    const key = `reg-${randomUUID()}`;
    const first = await register(person(), key);
    assert.equal(first.status, 201);
    assert.equal((await register(person(), key)).status, 422, 'while alive: another body under the key is refused');

    const later = new Date(Date.now() + IDEMPOTENCY_RECORD_TTL_MS + 60_000);
    const afterExpiry = await withClockAt(later, () => register(person(), key));
    assert.equal(afterExpiry.status, 201, 'expired: a new request, not a 422 and not a replay');
    assert.equal(afterExpiry.headers.get('idempotent-replayed'), null);
    assert.notEqual(afterExpiry.body.id, first.body.id);

    // An expired record is gone from the database once the purge runs.
    const expiring = `reg-${randomUUID()}`;
    await register(person(), expiring);
    const timer = app.modules.flatMap((module) => module.timers).find((t) => t.name === 'purgeIdempotencyRecords');
    assert.ok(timer, 'the purge is a declared timer');
    const context = new InvocationContext({ invocationId: 'purge', functionName: 'purgeIdempotencyRecords' });
    await withClockAt(new Date(Date.now() + 2 * IDEMPOTENCY_RECORD_TTL_MS), () => timer.handler({} as Timer, context));
    const keys = storedRows().map((row) => row.key);
    assert.ok(!keys.includes(`registerUser:anonymous:${expiring}`), 'purged');
  });

  it('keeps no token or secret in any record: the token and client routes take no Idempotency-Key', async () => {
    const body = person();
    await register(body, `reg-${randomUUID()}`);
    const key = `tok-${randomUUID()}`;
    const token = await invoke(app.handler('issueToken'), {
      method: 'POST',
      path: 'auth/token',
      rawBody: new URLSearchParams({ grant_type: 'password', username: body.email, password: body.password }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': key },
    });
    const client = await invoke(app.handler('registerClient'), {
      method: 'POST',
      path: 'auth/clients',
      body: { name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: [randomUUID()] },
      headers: { 'idempotency-key': key },
    });
    const rows = JSON.stringify(storedRows());
    for (const secret of [token.body?.access_token, token.body?.refresh_token, client.body?.clientSecret].filter(Boolean)) {
      assert.ok(!rows.includes(secret), 'a token or secret in an idempotency record');
    }
    assert.ok(!rows.includes(key), 'no record under the key sent to the token or client routes');
  });

  it('a body nested thousands deep with an Idempotency-Key is a 400, not a stack overflow (500)', async () => {
    const nested = `{"items":[${'['.repeat(2500)}${']'.repeat(2500)}]}`;
    const response = await invoke(app.handler('publishOfferBatch'), {
      method: 'POST',
      path: 'offers/batch',
      rawBody: nested,
      headers: { 'idempotency-key': `deep-${randomUUID()}`, 'content-type': 'application/json' },
    });
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.match(JSON.stringify(response.body), /nests more than \d+ levels deep/);
    assert.throws(() => canonicalJson(JSON.parse(nested)), /nests more than/);
  });
});

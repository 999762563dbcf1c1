import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { createClient } from 'redis';
import { RedisCache } from '../../shared/adapters/redis/cache';
import { cacheContract } from '../contracts/cache.contract';
import { skipUnlessReachable } from '../support/reachable';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = skipUnlessReachable('Redis', 'REDIS_URL', url);

/** The Entra ID path takes a URL without credentials; the admin connection keeps any the test Redis needs. */
function withoutCredentials(address: string): string {
  const parsed = new URL(address);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** An unsigned JWT as Entra ID shapes it for Redis: the `oid` claim becomes the Redis user. */
function jwt(oid: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ aud: 'https://redis.azure.com', oid, jti: randomUUID() })}.`;
}

/** A TokenCredential that hands out the tokens the test issues, in order; a request waits for the next one. */
class ScriptedCredential implements TokenCredential {
  requests = 0;
  private readonly issued: { token: string; ttlMs: number }[] = [];
  private wake: () => void = () => {};

  issue(token: string, ttlMs: number): void {
    this.issued.push({ token, ttlMs });
    this.wake();
  }

  async getToken(): Promise<AccessToken> {
    this.requests++;
    while (!this.issued.length) await new Promise<void>((resolve) => (this.wake = resolve));
    const { token, ttlMs } = this.issued.shift()!;
    return { token, expiresOnTimestamp: Date.now() + ttlMs };
  }
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

suiteNeeding('Redis cache with Microsoft Entra ID tokens', skip, () => {
  const admin = createClient({ url });
  const users: string[] = [];
  const opened: RedisCache[] = [];
  before(() => admin.connect());
  after(async () => {
    await Promise.all(opened.map((cache) => cache.close()));
    for (const user of users) await admin.sendCommand(['ACL', 'DELUSER', user]);
    await admin.quit();
  });

  /** The only tokens Redis takes for `oid` from now on: Azure Managed Redis checks the token, this ACL stands in. */
  const accept = (oid: string, ...tokens: string[]) =>
    admin.sendCommand(['ACL', 'SETUSER', oid, 'on', 'resetpass', ...tokens.map((token) => `>${token}`), '~*', '&*', '+@all']);

  /** The connections signed in as `oid`, with the last command each ran. */
  async function connectionsOf(oid: string): Promise<{ id: string; cmd: string }[]> {
    const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
    return list
      .split('\n')
      .map((line) => Object.fromEntries(line.trim().split(' ').map((field) => field.split('=', 2))) as Record<string, string>)
      .filter((fields) => fields.user === oid)
      .map(({ id, cmd }) => ({ id, cmd }));
  }

  /** Failed AUTHs for `oid`, counted by Redis's ACL log. */
  async function authFailures(oid: string): Promise<number> {
    const log = await admin.aclLog();
    return log.filter((entry) => entry.reason === 'auth' && entry.username === oid).reduce((sum, entry) => sum + Number(entry.count), 0);
  }

  cacheContract('Redis with Microsoft Entra ID', async () => {
    const oid = randomUUID();
    users.push(oid);
    const token = jwt(oid);
    await accept(oid, token);
    const credential = new ScriptedCredential();
    credential.issue(token, 3_600_000);
    const cache = await RedisCache.openWithEntraId(withoutCredentials(url), { credential, prefix: `test-${process.pid}-${Date.now()}:` });
    opened.push(cache);
    await cache.ready();
    return cache;
  });

  it('signs in as the token oid, re-authenticates its open connection with each refreshed token, and fails on a wrong one', async () => {
    const oid = randomUUID();
    users.push(oid);
    const credential = new ScriptedCredential();
    const messages: string[] = [];
    const [first, second, wrong] = [jwt(oid), jwt(oid), jwt(oid)];
    await accept(oid, first);
    // Short lifetimes: the provider asks for the next token at 70% of each.
    credential.issue(first, 1_500);
    const cache = await RedisCache.openWithEntraId(withoutCredentials(url), {
      credential,
      prefix: `test-${process.pid}-entraid:`,
      onError: (message) => messages.push(message),
    });
    try {
      await cache.ready();
      await cache.set('k', { v: 1 }, { freshSeconds: 30, staleSeconds: 60 });
      assert.deepEqual(await cache.get('k'), { value: { v: 1 }, fresh: true });
      const [signedIn] = await connectionsOf(oid);
      assert.ok(signedIn, 'the connection is signed in as the user named by the token oid');

      // Redis now takes only the second token; the refresh hands it out, and the client sends AUTH with it.
      await accept(oid, second);
      await waitFor('the refresh to ask for a new token', () => credential.requests >= 2);
      credential.issue(second, 1_500);
      await waitFor('AUTH on the open connection', async () => (await connectionsOf(oid)).some((c) => c.id === signedIn.id && c.cmd === 'auth'));
      assert.deepEqual(await connectionsOf(oid).then((cs) => cs.map((c) => c.id)), [signedIn.id], 'the same connection, re-authenticated: no reconnection');
      assert.equal(await authFailures(oid), 0, 'the refreshed token was accepted');
      await cache.set('k', { v: 2 }, { freshSeconds: 30, staleSeconds: 60 });
      assert.deepEqual(await cache.get('k'), { value: { v: 2 }, fresh: true });

      // A new connection signs in with the refreshed token; the first one is refused by now.
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', signedIn.id]);
      await waitFor('the reconnection', async () => (await connectionsOf(oid)).some((c) => c.id !== signedIn.id));
      await cache.ready();
      assert.deepEqual(await cache.get('k'), { value: { v: 2 }, fresh: true });
      // (node-redis retries a refused AUTH by itself: one attempt is enough here.)
      const withFirst = createClient({ url: withoutCredentials(url), username: oid, password: first, socket: { reconnectStrategy: false } });
      withFirst.on('error', () => {});
      await assert.rejects(withFirst.connect(), /WRONGPASS/);

      // A token Redis does not take: re-authentication fails and is reported, without the token.
      await waitFor('the next refresh', () => credential.requests >= 3);
      const failuresBefore = await authFailures(oid);
      credential.issue(wrong, 1_000);
      const reAuthFailures = () => messages.filter((m) => m.startsWith('redis re-authentication failed')).length;
      await waitFor('the failed re-authentication', () => reAuthFailures() > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const failuresAfter = await authFailures(oid);
      // Once: the subscription of the connection killed above is gone, it sends no AUTH of its own.
      assert.equal(failuresAfter - failuresBefore, 1, 'Redis refused the wrong token, once');
      assert.equal(reAuthFailures(), 1);
      // And no connection can be made with it: commands fail at once, as in any outage.
      const [current] = await connectionsOf(oid);
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', current.id]);
      await waitFor('a refused reconnection', async () => (await authFailures(oid)) > failuresAfter);
      await assert.rejects(cache.get('k'));
      assert.deepEqual(await connectionsOf(oid), []);
      assert.ok(messages.some((m) => /WRONGPASS/.test(m)), messages.join('\n'));
      for (const token of [first, second, wrong]) assert.ok(!messages.some((m) => m.includes(token)), 'no token in the messages');
      // Closed while a token request is under way (the wrong token's refresh, asked for at 700 ms):
      await waitFor('the next refresh', () => credential.requests >= 4);
    } finally {
      await cache.close();
    }
    // its answer goes nowhere (no unhandled rejection from the stopped token manager), and no refresh follows.
    credential.issue(jwt(oid), 200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(credential.requests, 4, 'closing stops the refreshes');
  });

  it('refuses a URL with a user or password: node-redis would let it override the tokens', async () => {
    await assert.rejects(RedisCache.openWithEntraId('rediss://:key@example.invalid:10000', { credential: new ScriptedCredential() }), /no user or password/);
    await assert.rejects(RedisCache.openWithEntraId('rediss://someone@example.invalid:10000', { credential: new ScriptedCredential() }), /no user or password/);
  });
});

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';

/**
 * Item 9f: the local Cosmos DB server answered any key, so any local process (or a page
 * in a browser, through a simple request) could read and change the read models.
 */
describe('the local Cosmos DB server answers only its own random key', () => {
  let local: LocalCosmos;
  before(async () => {
    local = await startLocalCosmos();
  });
  after(() => local.stop());

  const client = (key: string) => new CosmosClient({ endpoint: local.endpoint, key, connectionPolicy: { enableEndpointDiscovery: false } });
  const sign = (key: string, verb: string, type: string, id: string, date: string) =>
    encodeURIComponent(
      `type=master&ver=1.0&sig=${createHmac('sha256', Buffer.from(key, 'base64')).update(`${verb}\n${type}\n${id}\n${date.toLowerCase()}\n\n`).digest('base64')}`,
    );

  it('the SDK with the server’s key works (the control)', async () => {
    const { database } = await client(local.key).databases.createIfNotExists({ id: 'probe' });
    await database.containers.createIfNotExists({ id: 'things', partitionKey: { paths: ['/id'] } });
    await database.container('things').items.create({ id: 'a', secret: 'read model' });
    const { resource } = await database.container('things').item('a', 'a').read();
    assert.equal(resource.secret, 'read model');
  });

  it('the SDK with any other key is refused', async () => {
    const stranger = client(randomBytes(64).toString('base64'));
    await assert.rejects(stranger.database('probe').container('things').item('a', 'a').read(), (error: { code?: number }) => error.code === 401);
    await assert.rejects(stranger.database('probe').container('things').items.create({ id: 'b' }), (error: { code?: number }) => error.code === 401);
  });

  it('no key, a signature for another resource, or an old date is refused', async () => {
    const url = `${local.endpoint}/dbs/probe/colls/things/docs/a`;
    const now = new Date().toUTCString();
    assert.equal((await fetch(url)).status, 401);
    const forOther = sign(local.key, 'get', 'docs', 'dbs/probe/colls/things/docs/other', now);
    assert.equal((await fetch(url, { headers: { authorization: forOther, 'x-ms-date': now } })).status, 401);
    const old = new Date(Date.now() - 3_600_000).toUTCString();
    const stale = sign(local.key, 'get', 'docs', 'dbs/probe/colls/things/docs/a', old);
    assert.equal((await fetch(url, { headers: { authorization: stale, 'x-ms-date': old, 'x-ms-documentdb-partitionkey': '["a"]' } })).status, 401);
    const fresh = sign(local.key, 'get', 'docs', 'dbs/probe/colls/things/docs/a', now);
    assert.equal((await fetch(url, { headers: { authorization: fresh, 'x-ms-date': now, 'x-ms-documentdb-partitionkey': '["a"]' } })).status, 200);
  });

  it('a token for a path the server cannot read (//, %zz) is refused, and the server (the whole local host) lives on', async () => {
    // Review: resourceOf threw on these inside the request listener, an uncaught exception that ended
    // the process serving the platform, for any local user with a current date and any signature.
    const now = new Date().toUTCString();
    const token = { authorization: 'type%3Dmaster%26ver%3D1.0%26sig%3Dx', 'x-ms-date': now };
    for (const path of ['//', '/%zz', '/dbs/%E0%A4%A/colls']) {
      assert.equal((await fetch(`${local.endpoint}${path}`, { headers: token, signal: AbortSignal.timeout(5_000) })).status, 401, path);
    }
    assert.equal((await fetch(`${local.endpoint}/dbs/probe`)).status, 401);
  });

  it('each start makes a new key', async () => {
    const other = await startLocalCosmos();
    try {
      assert.notEqual(other.key, local.key);
      assert.equal(Buffer.from(other.key, 'base64').length, 64);
    } finally {
      await other.stop();
    }
  });
});

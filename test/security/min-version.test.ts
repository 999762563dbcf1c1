import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_VERSIONS_AHEAD } from '../../shared/kernel/read-handlers';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

/**
 * Item 9c: `X-Min-Version` held a request open for 2 s and read past the cache for anyone.
 * Now only a caller with a valid token waits, and only for a version a few ahead.
 */
describe('X-Min-Version cannot be used to hold requests or bypass the cache', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let id: string;
  before(async () => {
    app = await testApp();
    id = (await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() })).body.id;
    await app.settle();
    await invoke(app.handler('getPharmacy'), { params: { id }, headers: { 'x-min-version': '1' } });
  });
  after(() => app.services.dispose());

  const timed = async (headers: Record<string, string>, as?: 'anonymous') => {
    const started = performance.now();
    const read = await invoke(app.handler('getPharmacy', as ? { as } : {}), { params: { id }, headers });
    return { read, ms: performance.now() - started };
  };

  it('an anonymous caller is answered at once, from the cache', async () => {
    const started = performance.now();
    const reads = await Promise.all(Array.from({ length: 20 }, () => timed({ 'x-min-version': '2' }, 'anonymous')));
    assert.ok(performance.now() - started < 1000, `20 reads took ${performance.now() - started} ms`);
    for (const { read } of reads) {
      assert.equal(read.status, 200);
      assert.equal(read.body.version, 1);
      assert.equal(read.headers.get('x-cache'), 'hit');
    }
  });

  it('a forged or invalid token counts as anonymous', async () => {
    const { read, ms } = await timed({ 'x-min-version': '2', authorization: 'Bearer aaaa.bbbb.cccc' });
    assert.equal(read.status, 200);
    assert.ok(ms < 500, `${ms} ms`);
    assert.equal(read.headers.get('x-cache'), 'hit');
  });

  it('an authenticated caller asking far ahead is answered at once', async () => {
    const { read, ms } = await timed({ 'x-min-version': String(1 + MAX_VERSIONS_AHEAD + 1) });
    assert.equal(read.status, 200);
    assert.ok(ms < 500, `${ms} ms`);
    const huge = await timed({ 'x-min-version': String(Number.MAX_SAFE_INTEGER) });
    assert.ok(huge.ms < 500, `${huge.ms} ms`);
  });

  it('an authenticated caller reading its own write still waits for it (the control)', async () => {
    const waiting = timed({ 'x-min-version': '2' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const changed = await invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id }, body: { tradeName: 'Drogaria Depois' } });
    assert.equal(changed.body.version, 2);
    const { read } = await waiting;
    assert.equal(read.body.version, 2);
    assert.equal(read.body.tradeName, 'Drogaria Depois');
  });
});

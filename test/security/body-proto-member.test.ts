import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';
import { pharmacyBody } from '../support/fixtures';

/**
 * Attack review: "unknown fields are refused" (docs/apis.md), and the query string refuses
 * `__proto__` by name because joi drops that name without a word (queryObject). A JSON body
 * does not: JSON.parse makes `__proto__` an own member, joi drops it, and the command runs
 * (200) on what is left, here and in every item of the partner feed. Nothing's prototype
 * changes, but the body the caller sent is not the one validated, fingerprinted or refused.
 */
describe('attack: a __proto__ member in a JSON body', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('is refused as any unknown member is, naming it', async () => {
    const registered = await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const unknown = await invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id: registered.body.id }, rawBody: '{"tradeName":"Drogaria Nova","isAdmin":true}' });
    assert.equal(unknown.status, 400, 'an ordinary unknown member is refused');
    const proto = await invoke(app.handler('changePharmacyProfile'), {
      method: 'PATCH',
      params: { id: registered.body.id },
      rawBody: '{"tradeName":"Drogaria Nova","__proto__":{"isAdmin":true}}',
    });
    assert.equal(proto.status, 400, `__proto__ went through unrefused: ${proto.status} ${JSON.stringify(proto.body)}`);
    assert.deepEqual(proto.body.errors.map((error: { field: string }) => error.field), ['__proto__']);
    // Spelled with escapes, and deep in the body: JSON.parse makes the same member of either.
    for (const rawBody of ['{"tradeName":"Drogaria Nova","\\u005f_pr\\u006fto__":{"isAdmin":true}}', '{"tradeName":"Drogaria Nova","address":{"__proto__":null}}']) {
      const spelled = await invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id: registered.body.id }, rawBody });
      assert.equal(spelled.status, 400, rawBody);
      assert.match(spelled.headers.get('content-type') ?? '', /problem\+json/);
    }
    const plain = await invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id: registered.body.id }, rawBody: '{"tradeName":"Drogaria \\u00c9pica protozoária"}' });
    assert.equal(plain.status, 200, 'a body that only looks like it (an escape, the word proto) passes');
  });
});

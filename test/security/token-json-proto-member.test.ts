import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Review of 683ee35 ("Bodies: a __proto__ member is refused as any unknown member is"). The
 * OAuth endpoints read JSON bodies with a JSON.parse of their own (readForm), not readJsonBody:
 * there an ordinary unknown member is refused (invalid_request), and `__proto__` is still
 * dropped by joi without a word, so the grant runs on what is left.
 */
describe('a __proto__ member in a JSON token request', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const token = (rawBody: string) =>
    invoke(app.handler('issueToken', { as: 'anonymous' }), {
      method: 'POST',
      rawBody,
      headers: { 'content-type': 'application/json', 'x-farmacias-client-ip': '198.51.100.90' },
    });

  it('is refused as any unknown member is', async () => {
    const unknown = await token('{"grant_type":"password","username":"nobody@exemplo.com.br","password":"not the one","isAdmin":true}');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'invalid_request', 'an ordinary unknown member is refused before any password is checked');
    const proto = await token('{"grant_type":"password","username":"nobody@exemplo.com.br","password":"not the one","__proto__":{"isAdmin":true}}');
    assert.equal(proto.body.error, 'invalid_request', `__proto__ went through unrefused: ${proto.status} ${JSON.stringify(proto.body)}`);
    const form = await invoke(app.handler('issueToken', { as: 'anonymous' }), {
      method: 'POST',
      rawBody: 'grant_type=password&username=nobody%40exemplo.com.br&password=not+the+one&__proto__=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-farmacias-client-ip': '198.51.100.90' },
    });
    assert.equal(form.status, 400);
    assert.equal(form.body.error, 'invalid_request', 'nor in a form');
  });
});

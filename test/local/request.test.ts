import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpRequest } from '@azure/functions';
import { LocalHttpRequest } from '../../local/request';

const URL_TEXT = 'http://localhost/api/pharmacies/0b6f3a52-5c1e-4f55-9d36-2f6f3c9f1e01?limit=5&city=S%C3%A3o%20Paulo&a=1&a=2';

/** The same request as the local host's and as the Functions library's own. */
function both(method: string, headers: Record<string, string>, body?: string) {
  const bytes = body === undefined ? undefined : Buffer.from(body);
  const local = new LocalHttpRequest({ method, url: new URL(URL_TEXT), headers: { ...headers }, params: { id: 'x' }, body: bytes });
  const real = new HttpRequest({ method, url: URL_TEXT, headers, params: { id: 'x' }, ...(bytes ? { body: { bytes } } : {}) });
  return { local, real };
}

describe('the local host’s HttpRequest', () => {
  it('answers what the Functions request answers: method, url, query, params and headers', () => {
    const headers = { 'content-type': 'application/json', 'x-min-version': '3', accept: '*/*' };
    const { local, real } = both('GET', headers);
    assert.equal(local.method, real.method);
    assert.equal(local.url, real.url);
    assert.deepEqual([...local.query], [...real.query], 'every value of a repeated name, in order');
    assert.deepEqual(local.params, real.params);
    assert.equal(local.headers.get('X-Min-Version'), real.headers.get('X-Min-Version'), 'names are case-insensitive');
    assert.equal(local.headers.get('if-none-match'), null);
    assert.equal(local.headers.has('Accept'), true);
    assert.deepEqual([...local.headers], [...real.headers], 'iterated sorted by name');
    assert.deepEqual(Object.fromEntries(local.headers), Object.fromEntries(real.headers));
    assert.equal(local.user, real.user);
  });

  it('lowercases names given in another case, joining those that differ only in case as Headers does', () => {
    const local = new LocalHttpRequest({ method: 'GET', url: new URL(URL_TEXT), headers: { 'X-Tag': 'a', 'x-tag': 'b' }, params: {} });
    assert.equal(local.headers.get('x-tag'), new Headers([['X-Tag', 'a'], ['x-tag', 'b']]).get('x-tag'));
  });

  it('reads a body once, as text or JSON, and drops the BOM as the Fetch text() does', async () => {
    const { local, real } = both('POST', { 'content-type': 'application/json' }, '\uFEFF{"name":"Drogaria São João"}');
    assert.equal(await local.text(), await real.text());
    assert.equal(local.bodyUsed, true);
    await assert.rejects(local.json(), TypeError);
    const again = both('POST', { 'content-type': 'application/json' }, '{"a":1}');
    assert.deepEqual(await again.local.json(), await again.real.json());
  });

  it('has no body on GET or HEAD and without bytes, and reads empty any number of times then', async () => {
    for (const { local, real } of [both('GET', {}, 'ignored'), both('POST', {})]) {
      assert.equal(await local.text(), await real.text());
      assert.equal(await local.text(), '');
      assert.equal(local.bodyUsed, false);
    }
  });

  it('answers the rest through the Functions request: a form body, a blob, a clone', async () => {
    const form = both('POST', { 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=password&username=a');
    assert.equal((await form.local.formData()).get('grant_type'), 'password');
    assert.equal(form.local.bodyUsed, true);
    await assert.rejects(form.local.text(), TypeError, 'the body was read through the Functions request');
    const { local } = both('POST', { 'content-type': 'text/plain' }, 'abc');
    const copy = local.clone();
    assert.equal(await (await local.blob()).text(), 'abc');
    assert.equal(await copy.text(), 'abc', 'a clone reads its own body');
    assert.throws(() => local.clone(), TypeError);
  });

  it('review: a header the request lacks is null even when its name is one of every object\'s own properties', () => {
    const { local, real } = both('GET', { accept: '*/*' });
    for (const name of ['constructor', '__proto__']) assert.equal(local.headers.get(name), real.headers.get(name), name);
  });
});

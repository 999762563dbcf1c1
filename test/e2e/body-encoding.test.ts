import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pharmacyBody } from '../support/fixtures';
import { localHostForSuite } from '../support/suite-host';

/**
 * Found by attacking the local host: a JSON body is read as UTF-8 whatever it declares, its
 * invalid bytes replaced by U+FFFD. A client sending ISO-8859-1 (a legacy ERP's default),
 * saying so or not, got a 201 and a pharmacy named "Drogaria S\uFFFDo Jo\uFFFDo" for good.
 * A body that is not UTF-8 must be refused, never stored mangled.
 */
describe('text that is not UTF-8: a JSON body, the token endpoint\'s form, a query', () => {
  const suite = localHostForSuite();

  const register = async (contentType: string, bytes: Buffer) => {
    const response = await fetch(`${suite.host.url}/pharmacies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.adminToken}`, 'content-type': contentType },
      body: bytes,
    });
    return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as { title?: string } };
  };
  const latin1Pharmacy = () => Buffer.from(JSON.stringify(pharmacyBody({ tradeName: 'Drogaria São João' })), 'latin1');

  it('is refused (415) when it declares another charset', async () => {
    const response = await register('application/json; charset=iso-8859-1', latin1Pharmacy());
    assert.equal(response.status, 415, `answered ${response.status} ${JSON.stringify(response.body)}`);
    assert.match(response.contentType ?? '', /^application\/problem\+json/);
  });

  it('is refused (400) when its bytes are not UTF-8', async () => {
    const response = await register('application/json', latin1Pharmacy());
    assert.equal(response.status, 400, `answered ${response.status} ${JSON.stringify(response.body)}`);
    assert.match(response.contentType ?? '', /^application\/problem\+json/);
    assert.equal(response.body.title, 'Invalid input');
  });

  it('is taken in UTF-8, said or not, with or without a byte order mark', async () => {
    for (const [contentType, prefix] of [
      ['application/json; charset=utf-8', ''],
      ['application/json; charset="UTF-8"', ''],
      ['application/json', '\uFEFF'],
    ]) {
      const response = await register(contentType, Buffer.from(prefix + JSON.stringify(pharmacyBody({ tradeName: 'Drogaria São João' })), 'utf8'));
      assert.equal(response.status, 201, `${contentType}: ${response.status} ${JSON.stringify(response.body)}`);
    }
  });

  // Found by a fault run: neither host decompresses a body, so a gzip one was a 400 "not valid UTF-8".
  it('is refused (415, Accept-Encoding: identity) when compressed, and taken when its coding is said to be identity', async () => {
    const json = JSON.stringify(pharmacyBody({ tradeName: 'Drogaria Comprimida' }));
    const send = (coding: string, body: Buffer) =>
      fetch(`${suite.host.url}/pharmacies`, {
        method: 'POST',
        headers: { authorization: `Bearer ${suite.adminToken}`, 'content-type': 'application/json', 'content-encoding': coding },
        body,
      });
    for (const coding of ['gzip', 'br', 'identity, gzip']) {
      const response = await send(coding, gzipSync(json));
      assert.equal(response.status, 415, `${coding}: ${response.status}`);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(response.headers.get('accept-encoding'), 'identity');
      assert.match(((await response.json()) as { detail: string }).detail, /uncompressed/);
    }
    assert.equal((await send('identity', Buffer.from(json))).status, 201);
  });

  // Found by a fault run: JSON.parse kept the last copy, where a gateway may check the first.
  it('is refused (400) when an object repeats a member, naming it', async () => {
    const text = JSON.stringify(pharmacyBody({ tradeName: 'Drogaria Repetida' })).replace('{', '{"tradeName":"Outra",');
    const response = await register('application/json', Buffer.from(text));
    assert.equal(response.status, 400, `answered ${response.status} ${JSON.stringify(response.body)}`);
    assert.deepEqual((response.body as { errors?: unknown }).errors, [{ field: 'tradeName', message: 'tradeName is given more than once; send it once' }]);
    const token = await fetch(`${suite.host.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"password","grant_type":"client_credentials","client_id":"x","client_secret":"y"}',
    });
    const answer = (await token.json()) as { error?: string; error_description?: string };
    assert.deepEqual([token.status, answer.error, answer.error_description], [400, 'invalid_request', 'grant_type is given more than once; send it once']);
  });

  describe('at the token endpoint (a form)', () => {
    const login = async (body: Buffer | string) => {
      const response = await fetch(`${suite.host.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      return { status: response.status, body: (await response.json()) as { error?: string } };
    };

    it('refuses raw bytes that are not UTF-8 as an OAuth invalid_request', async () => {
      const answer = await login(Buffer.from('grant_type=password&username=jo%40exemplo.com.br&password=senha São João longa', 'latin1'));
      assert.deepEqual([answer.status, answer.body.error], [400, 'invalid_request']);
    });

    it('refuses a percent-escape that is not UTF-8 (%E3, Latin-1 ã), which URLSearchParams reads as U+FFFD', async () => {
      const answer = await login('grant_type=password&username=jo%40exemplo.com.br&password=senha%20S%E3o%20Jo%E3o%20longa');
      assert.deepEqual([answer.status, answer.body.error], [400, 'invalid_request']);
    });

    it('refuses a compressed form as an OAuth invalid_request (415), naming the coding it takes', async () => {
      const response = await fetch(`${suite.host.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
        body: gzipSync('grant_type=password&username=jo%40exemplo.com.br&password=senha+longa+aqui'),
      });
      assert.deepEqual([response.status, ((await response.json()) as { error?: string }).error, response.headers.get('accept-encoding')], [415, 'invalid_request', 'identity']);
    });

    it('reads UTF-8 escapes and + as before: a wrong password is invalid_grant, not invalid_request', async () => {
      const answer = await login('grant_type=password&username=jo%40exemplo.com.br&password=senha+S%C3%A3o+Jo%C3%A3o+longa');
      assert.deepEqual([answer.status, answer.body.error], [400, 'invalid_grant']);
    });

    /**
     * Found in review: a `%` not followed by two hex digits is kept as it is by the WHATWG
     * form parser (URLSearchParams), but decodeURIComponent throws on it, so a hand-built form
     * with a password such as "50%off" was an invalid_request instead of a login attempt.
     */
    it('reads a % that begins no escape as itself, as URLSearchParams does', async () => {
      for (const password of ['senha 50%off longa', 'senha longa 100%', 'senha %4 longa', 'senha %%41 longa']) {
        const answer = await login(`grant_type=password&username=jo%40exemplo.com.br&password=${password.replace(/ /g, '+')}`);
        assert.deepEqual([answer.status, answer.body.error], [400, 'invalid_grant'], password);
      }
    });
  });

  describe('in a query', () => {
    const search = async (query: string) => {
      const response = await fetch(`${suite.host.url}/products?${query}`);
      return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as { errors?: { field: string }[] } };
    };

    it('an escape that is not UTF-8 (%E3, Latin-1 ã), which URLSearchParams reads as U+FFFD, is a 400 naming the parameter, not a search that finds nothing', async () => {
      const answer = await search('q=S%E3o');
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.match(answer.contentType ?? '', /^application\/problem\+json/);
      assert.deepEqual(answer.body.errors?.map(({ field }) => field), ['q']);
    });

    it('UTF-8 escapes are searched as before', async () => {
      assert.equal((await search('q=S%C3%A3o')).status, 200);
    });
  });
});

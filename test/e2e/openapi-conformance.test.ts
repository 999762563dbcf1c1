import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { ContractChecker, type Violation } from '../support/contract';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { localHostForSuite } from '../support/suite-host';
import { tokenFor } from '../support/tokens';

/**
 * Issue 13: every answer the APIs give, on every operation, is declared in its OpenAPI
 * document (status, media type, body schema), as a validating gateway or a generated client
 * expects. Each operation is called on its happy path, then with the usual wrong inputs;
 * every exchange is checked by `ContractChecker` and the test lists every mismatch.
 */
const UNKNOWN = '7a1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
const PASSWORD = 'a long and private passphrase';

interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('every answer matches the OpenAPI documents', () => {
  const suite = localHostForSuite();
  let checker: ContractChecker;
  const violations: Violation[] = [];
  const exercised = new Set<string>();

  /** One request; `token` '' sends none. */
  async function call(method: string, path: string, options: { body?: unknown; raw?: string; type?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const token = options.token ?? suite.adminToken;
    const body = options.raw ?? (options.body === undefined ? undefined : options.type === 'form' ? new URLSearchParams(options.body as Record<string, string>).toString() : JSON.stringify(options.body));
    const type = options.type === 'form' ? 'application/x-www-form-urlencoded' : options.type ?? 'application/json';
    let response: Response;
    try {
      response = await fetch(`${suite.host.url}/${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}), ...options.headers },
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      violations.push({ operation: '(connection)', exchange: `${method} /${path.slice(0, 80)}`, problem: `no answer: ${cause}` });
      return { status: 0, headers: new Headers(), body: undefined };
    }
    const text = await response.text();
    const pathOnly = `/${path.split('?')[0]}`;
    const found = checker.check({ method, path: pathOnly, status: response.status, contentType: response.headers.get('content-type') ?? '', body: text });
    violations.push(...found);
    exercised.add(checker.operationOf(method, pathOnly) ?? '');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /** A call on its happy path: it must succeed, or the operation's success answers go unchecked. */
  async function ok(method: string, path: string, options: Parameters<typeof call>[2] = {}): Promise<Answer> {
    const answer = await call(method, path, options);
    assert.ok(answer.status >= 200 && answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    const sent = options.body === undefined ? undefined : options.type === 'form' ? new URLSearchParams(options.body as Record<string, string>).toString() : JSON.stringify(options.body);
    const type = options.type === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    violations.push(...checker.checkAcceptedRequest(method, `/${path.split('?')[0]}`, type, sent));
    return answer;
  }

  before(async () => {
    checker = await ContractChecker.load();
  });

  it('on the happy path of every operation', async () => {
    await ok('GET', 'health');
    await ok('GET', 'health/ready');

    const pharmacy = (await ok('POST', 'pharmacies', { body: pharmacyBody() })).body.id;
    await ok('GET', 'pharmacies?state=SP');
    await ok('GET', 'pharmacies/nearby?lat=-23.56&lon=-46.65');
    await suite.services.bus.idle?.();
    await ok('GET', `pharmacies/${pharmacy}`);
    await ok('PATCH', `pharmacies/${pharmacy}`, { body: { tradeName: 'Drogaria Contrato' } });
    await ok('PUT', `pharmacies/${pharmacy}/opening-hours`, { body: { openingHours: [{ day: 'wed', opens: '09:00', closes: '18:00' }] } });
    const address = { street: 'Rua Augusta', number: '10', district: 'Consolação', city: 'São Paulo', state: 'SP', postalCode: '01305-000' };
    await ok('POST', `pharmacies/${pharmacy}/relocation`, { body: { address, location: { lat: -23.55, lon: -46.66 } } });
    await ok('POST', `pharmacies/${pharmacy}/closure`);
    await ok('POST', `pharmacies/${pharmacy}/reopening`);
    await ok('GET', `pharmacies/${pharmacy}/history`);

    const gtin = uniqueGtin();
    const product = (
      await ok('POST', 'products', {
        body: { gtin, name: 'Dipirona Contrato 500 mg', brand: 'Teste', manufacturer: 'Teste', activeIngredients: ['dipirona'], presentation: '500 mg, 10 comprimidos', form: 'tablet', category: 'medicines', prescription: 'none', generic: true },
      })
    ).body.id;
    await suite.services.bus.idle?.();
    await ok('GET', 'products?q=dipirona');
    await ok('GET', `products/gtin/${gtin}`);
    await ok('GET', `products/${product}`);
    await ok('PATCH', `products/${product}`, { body: { brand: 'Outra' } });
    await ok('POST', `products/${product}/discontinuation`);
    await ok('POST', `products/${product}/reinstatement`);
    await ok('GET', `products/${product}/history`);
    await ok('GET', 'categories');

    const validity = { validFrom: new Date(Date.now() - 60_000).toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString(), stock: 'in_stock' };
    const offer = (await ok('POST', 'offers', { body: { pharmacyId: pharmacy, productId: product, priceCents: 1000, ...validity } })).body.id;
    const second = (await ok('POST', 'pharmacies', { body: pharmacyBody() })).body.id;
    const batch = await ok('POST', 'offers/batch', { body: { items: [{ pharmacyId: second, productId: product, priceCents: 900, ...validity }, { pharmacyId: UNKNOWN, productId: product, priceCents: 1 }] } });
    assert.deepEqual(batch.body.results.map((result: { status: number }) => result.status), [201, 400]);
    await suite.services.bus.idle?.();
    await ok('GET', `offers/${offer}`);
    await ok('POST', `offers/${offer}/price`, { body: { priceCents: 950 } });
    await ok('GET', `products/${product}/offers?lat=-23.55&lon=-46.66`);
    await ok('GET', `pharmacies/${pharmacy}/offers`);
    await ok('POST', `offers/${offer}/withdrawal`);
    await ok('GET', `offers/${offer}/history`);

    const email = `${randomUUID()}@exemplo.com.br`;
    const user = (await ok('POST', 'auth/register', { body: { email, password: PASSWORD, name: 'Dona Contrato' }, token: '' })).body.id;
    const tokens = (await ok('POST', 'auth/token', { body: { grant_type: 'password', username: email, password: PASSWORD }, type: 'form', token: '' })).body;
    await ok('GET', 'auth/me', { token: tokens.access_token });
    await ok('GET', 'auth/me/data', { token: tokens.access_token });
    await ok('POST', 'auth/revoke', { body: { token: tokens.refresh_token }, type: 'form', token: '' });
    await ok('GET', 'auth/jwks', { token: '' });
    await ok('GET', 'auth/.well-known/openid-configuration', { token: '' });
    await ok('POST', `auth/users/${user}/roles`, { body: { roles: ['customer'] } });
    const client = (await ok('POST', 'auth/clients', { body: { name: 'Parceiro Contrato', scopes: ['offers:write'], pharmacyIds: [pharmacy] } })).body;
    await ok('POST', 'auth/token', { body: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }, type: 'form', token: '' });
    await ok('POST', `auth/clients/${client.clientId}/secret`, { body: {} });
    await ok('POST', `auth/clients/${client.clientId}/disablement`);
    const other = `${randomUUID()}@exemplo.com.br`;
    const erased = (await ok('POST', 'auth/register', { body: { email: other, password: PASSWORD, name: 'Seu Apagado' }, token: '' })).body.id;
    await ok('DELETE', `auth/users/${erased}`);
    await ok('DELETE', 'auth/me', { token: tokens.access_token });

    const missing = checker.operations().filter((operation) => !exercised.has(operation.split(' ')[2]));
    assert.deepEqual(missing, [], 'operations the happy path did not reach');
  });

  it('on the usual wrong inputs of every operation, and at the route level', async () => {
    const customer = await tokenFor(suite.services, { subject: randomUUID(), roles: ['customer'], scopes: [], pharmacyIds: [] });
    const pharmacy = (await call('POST', 'pharmacies', { body: pharmacyBody() })).body.id;
    const client = (await call('POST', 'auth/clients', { body: { name: 'Parceiro Sonda', scopes: ['offers:write'], pharmacyIds: [pharmacy] } })).body;
    const partner = (await call('POST', 'auth/token', { body: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }, type: 'form', token: '' })).body.access_token;
    assert.ok(partner, `a partner token: ${JSON.stringify(client)}`);
    for (const operation of checker.operations()) {
      const [method, template] = operation.split(' ');
      const path = template.slice(1).replace(/\{[^}]+\}/g, UNKNOWN);
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
      await call(method, path, { token: '', ...(hasBody ? { body: {} } : {}) });
      await call(method, path, { token: customer, ...(hasBody ? { body: {} } : {}) });
      await call(method, path, { token: partner, ...(hasBody ? { body: {} } : {}) });
      await call(method, path, hasBody ? { body: {} } : {});
      if (template.includes('{')) await call(method, template.slice(1).replace(/\{[^}]+\}/g, 'not-an-id'), hasBody ? { body: {} } : {});
      await call(method, `${path}${path.includes('?') ? '&' : '?'}unknownParameter=1`, hasBody ? { body: {} } : {});
      await call(method, `${path}${path.includes('?') ? '&' : '?'}limit=1&limit=2`, hasBody ? { body: {} } : {});
      if (method === 'GET') await call('HEAD', path);
      if (hasBody) {
        await call(method, path, { raw: '{"broken": ' });
        await call(method, path, { raw: 'text', type: 'text/plain' });
        await call(method, path, { raw: JSON.stringify({ padding: 'x'.repeat(1_100_000) }) });
        await call(method, path, { body: {}, headers: { 'if-match': 'garbage' } });
      }
    }
    await call('GET', 'nowhere');
    await call('DELETE', 'pharmacies');
    await call('GET', 'health', { headers: { 'x-padding': 'x'.repeat(20_000) } });
    const listed = violations.map((violation) => `${violation.operation}: ${violation.exchange}: ${violation.problem}`);
    assert.equal(violations.length, 0, `${violations.length} answer(s) do not match the documents:\n${listed.join('\n')}`);
  });
});

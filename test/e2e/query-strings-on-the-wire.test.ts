import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { before, describe, it } from 'node:test';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { localHostForSuite } from '../support/suite-host';

/** One GET sent as the bytes given, its request target untouched by any client library. */
async function rawGet(port: number, target: string): Promise<{ status: number; contentType: string; body: string }> {
  const socket = createConnection(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write(`GET ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
  await once(socket, 'close');
  const [head, ...rest] = text.split('\r\n\r\n');
  return {
    status: Number(head.split(' ')[1]),
    contentType: /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1] ?? '',
    body: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8'),
  };
}

/** Odd queries as a client or a scanner sends them, each with the parameter a 400 must name ('' for one sent without a name). */
const ODD_QUERIES: Array<[query: string, names: string[]]> = [
  ['#top', []],
  ['x=a#b', ['x']],
  ['x=a?b', ['x']],
  ['?x=a', ['?x']],
  ['x=%E3', ['x']],
  ['x=%EF%BF%BD', ['x']],
  ['%EF%BF%BD=1', ['\ufffd']],
  ['x=1&x=2', ['x']],
  ['x=a+b', ['x']],
  ['+=1', [' ']],
  ['=1', ['']],
  ['=', ['']],
  ['x=a;b', ['x']],
  [';', [';']],
  ['&&&', []],
  ['limit=1&limit=2', ['limit']],
  ['limit=0x10', ['limit']],
  ['cursor=%E3', ['cursor']],
  ['cursor=%EF%BF%BD', ['cursor']],
  ['x=%ED%A0%80', ['x']],
];

describe('odd query strings on the wire: every read answers 200 or a 400 problem naming the parameter, never a 500', () => {
  const suite = localHostForSuite();
  const routes: string[] = [];
  let port = 0;

  before(async () => {
    port = Number(new URL(suite.host.url).port);
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${suite.host.url}/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${suite.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.ok(response.ok, `${path}: ${response.status}`);
      return ((await response.json()) as { id: string }).id;
    };
    const pharmacy = await post('pharmacies', pharmacyBody());
    const product = await post('products', {
      gtin: uniqueGtin(), name: 'Dipirona Teste 500 mg', brand: 'Teste', manufacturer: 'Laboratório Teste', activeIngredients: ['dipirona'],
      presentation: '500 mg, 10 comprimidos', form: 'tablet', category: 'medicines', prescription: 'none', generic: false,
    });
    const offer = await post('offers', offerBody(pharmacy, product, 990));
    await suite.services.bus.idle?.();
    routes.push(
      '/api/pharmacies?',
      '/api/pharmacies/nearby?lat=-23.56&lon=-46.65&',
      '/api/products?q=dipi&',
      `/api/products/${product}/offers?lat=-23.56&lon=-46.65&`,
      `/api/pharmacies/${pharmacy}/offers?`,
      '/api/health?',
      '/api/health/ready?',
      `/api/pharmacies/${pharmacy}?`,
      `/api/offers/${offer}?`,
    );
  });

  it('answers each, on list routes and on routes that take no query, 200 or 400 problem+json whose errors name what was sent', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const [query, names] of ODD_QUERIES) {
        const target = query.startsWith('#') ? route.replace(/[?&]$/, '') + query : route + query;
        const answer = await rawGet(port, target);
        if (answer.status === 200) continue;
        if (answer.status !== 400 || !/^application\/problem\+json/.test(answer.contentType)) {
          wrong.push(`${target}: ${answer.status} ${answer.body.slice(0, 200)}`);
          continue;
        }
        const errors = (JSON.parse(answer.body) as { errors?: Array<{ field: string; message: string }> }).errors ?? [];
        // The parameter the route did not expect, or whose value it refused, named as sent ('' with a message saying so).
        const named = errors.some(
          ({ field, message }) => (names.includes(field) || (field !== '' && route.includes(`${field}=`))) && (field !== '' || /empty name/.test(message)),
        );
        if (!named) wrong.push(`${target}: 400 naming ${JSON.stringify(errors)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});

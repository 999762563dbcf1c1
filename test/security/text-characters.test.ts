import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

/**
 * Item 9g: NUL, other control characters and unpaired surrogates (which JSON can carry as
 * \u escapes) were stored in names. Each free-text field now refuses them: 400 naming the field.
 * So are the bidirectional overrides and isolates, found by attacking the local host: with
 * them a name displays in another order than it is stored.
 */
const BAD = {
  nul: 'Drogaria\\u0000Falsa',
  escape: 'Drogaria \\u001b[31mVermelha',
  'lone high surrogate': 'Drogaria \\ud83d',
  'lone low surrogate': 'Drogaria \\udc8a inversa',
  'reversed pair': 'Drogaria \\udc8a\\ud83d',
  'right-to-left override': 'Drogaria \\u202eanidem',
  'right-to-left isolate': 'Drogaria \\u2067Falsa\\u2069',
};

/** The JSON of `body` with `field` (a dotted path) set to `escaped`, a JSON string body with \u escapes. */
function withField(body: Record<string, unknown>, field: string, escaped: string): string {
  const marker = '@@MARK@@';
  const copy = structuredClone(body);
  const path = field.split('.');
  let target = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path[path.length - 1];
  target[last] = Array.isArray(target[last]) ? [marker] : marker;
  return JSON.stringify(copy).replace(`"${marker}"`, `"${escaped}"`);
}

describe('free text refuses NUL, control characters, bidirectional controls and unpaired surrogates', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const gtin = () => {
    const body = `78951${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    return body + gtinCheckDigit(body);
  };
  const product = () => ({ gtin: gtin(), name: 'Dipirona', brand: 'Marca', manufacturer: 'Fabricante', activeIngredients: ['dipirona'], presentation: '500 mg', form: 'other', category: 'other', prescription: 'none', generic: false });

  const cases: [string, string, () => Record<string, unknown>, string, string?][] = [
    ...['tradeName', 'legalName', 'address.street', 'address.number', 'address.complement', 'address.district', 'address.city'].map(
      (field): [string, string, () => Record<string, unknown>, string] => ['registerPharmacy', 'POST', () => pharmacyBody({ address: { ...pharmacyBody().address, complement: 'Loja 1' } }), field],
    ),
    ...['name', 'brand', 'manufacturer', 'presentation', 'activeIngredients'].map(
      (field): [string, string, () => Record<string, unknown>, string, string] => ['registerProduct', 'POST', product, field, field === 'activeIngredients' ? 'activeIngredients.0' : field],
    ),
    ['registerUser', 'POST', () => ({ email: 'texto@exemplo.com.br', password: 'a long and unusual passphrase', name: 'Maria' }), 'name'],
    ['registerClient', 'POST', () => ({ name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: ['0b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11'] }), 'name'],
  ];

  for (const [route, method, body, field, reported] of cases) {
    it(`${route}: ${field}`, async () => {
      for (const [what, escaped] of Object.entries(BAD)) {
        const response = await invoke(app.handler(route), { method, rawBody: withField(body(), field, escaped) });
        assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.body)}`);
        assert.match(response.headers.get('content-type')!, /^application\/problem\+json/);
        assert.ok(
          response.body.errors.some((error: { field: string; message: string }) => error.field === (reported ?? field) && /NUL, control characters, bidirectional controls or unpaired surrogates/.test(error.message)),
          `${what}: ${JSON.stringify(response.body.errors)}`,
        );
      }
    });
  }

  it('accepts what a name may hold: accents, emoji (a paired surrogate), a line break (the control), a left-to-right mark', async () => {
    const created = await invoke(app.handler('registerPharmacy'), { method: 'POST', rawBody: withField(pharmacyBody(), 'tradeName', 'Drogaria São João 💊\\nfilial\\u200e') });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
});

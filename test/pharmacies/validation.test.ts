import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInput } from '../../shared/kernel/errors';
import { validate } from '../../shared/kernel/http';
import { changeProfileSchema, registerSchema } from '../../shared/pharmacies/commands';
import { normalisePhone, normalisePostalCode } from '../../shared/kernel/brazil';
import { pharmacyBody } from '../support/fixtures';

function fieldsRefused(body: unknown): string[] {
  try {
    validate(registerSchema, body, 'body');
  } catch (error) {
    assert.ok(error instanceof InvalidInput);
    return error.errors.map((e) => e.field);
  }
  return [];
}

describe('pharmacy registration schema', () => {
  it('accepts a complete body and fills the defaults', () => {
    const valid = validate(registerSchema, pharmacyBody({ timeZone: undefined, services: undefined }), 'body');
    assert.equal(valid.timeZone, 'America/Sao_Paulo');
    assert.deepEqual(valid.services, []);
  });

  it('names every missing field at once', () => {
    assert.deepEqual(fieldsRefused({}).sort(), ['address', 'cnpj', 'legalName', 'location', 'openingHours', 'phone', 'tradeName']);
  });

  it('refuses wrong types without coercing them', () => {
    assert.deepEqual(fieldsRefused(pharmacyBody({ location: { lat: '-23.5', lon: -46.6 } })), ['location.lat']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ tradeName: 42 })), ['tradeName']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ services: 'delivery' })), ['services']);
  });

  it('refuses unknown fields, at the top and inside', () => {
    assert.deepEqual(fieldsRefused(pharmacyBody({ isAdmin: true })), ['isAdmin']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ address: { ...pharmacyBody().address, floor: 2 } })), ['address.floor']);
  });

  it('checks Brazilian formats: CNPJ, UF, CEP, phone', () => {
    assert.deepEqual(fieldsRefused(pharmacyBody({ cnpj: '11222333000182' })), ['cnpj']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ address: { ...pharmacyBody().address, state: 'XX' } })), ['address.state']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ address: { ...pharmacyBody().address, postalCode: '1310-100' } })), ['address.postalCode']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ phone: '12345' })), ['phone']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ phone: '(11) 0456-7890' })), ['phone']);
  });

  it('checks coordinates, days, times and services', () => {
    assert.deepEqual(fieldsRefused(pharmacyBody({ location: { lat: 91, lon: 0 } })), ['location.lat']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ location: { lat: 0, lon: -181 } })), ['location.lon']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ openingHours: [{ day: 'monday', opens: '08:00', closes: '10:00' }] })), ['openingHours.0.day']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ openingHours: [{ day: 'mon', opens: '24:00', closes: '10:00' }] })), ['openingHours.0.opens']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ openingHours: [{ day: 'mon', opens: '08:00', closes: '25:00' }] })), ['openingHours.0.closes']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ services: ['delivery', 'delivery'] })), ['services.1']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ services: ['teleportation'] })), ['services.0']);
  });

  it('refuses blank and oversized text', () => {
    assert.deepEqual(fieldsRefused(pharmacyBody({ tradeName: '' })), ['tradeName']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ tradeName: ' padded ' })), ['tradeName']);
    assert.deepEqual(fieldsRefused(pharmacyBody({ legalName: 'x'.repeat(201) })), ['legalName']);
  });

  it('a profile change needs at least one field', () => {
    assert.throws(() => validate(changeProfileSchema, {}, 'body'), InvalidInput);
    assert.doesNotThrow(() => validate(changeProfileSchema, { services: [] }, 'body'));
  });
});

describe('Brazilian value normalisation', () => {
  it('writes phones in E.164', () => {
    assert.equal(normalisePhone('(11) 3456-7890'), '+551134567890');
    assert.equal(normalisePhone('+55 21 98765-4321'), '+5521987654321');
    assert.equal(normalisePhone('11 8765-4321 0'), undefined);
    assert.equal(normalisePhone('(11) 88765-4321'), undefined, 'nine digits must start with 9');
  });

  it('writes CEPs with the dash', () => {
    assert.equal(normalisePostalCode('01310100'), '01310-100');
    assert.equal(normalisePostalCode('01310-100'), '01310-100');
  });
});

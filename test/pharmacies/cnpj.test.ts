import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cnpjCheckDigits, cnpjProblem, isValidCnpj, normaliseCnpj } from '../../shared/pharmacies/domain/cnpj';

describe('CNPJ', () => {
  it('accepts numeric CNPJs, printed or bare', () => {
    for (const cnpj of ['11.222.333/0001-81', '11222333000181', '33.000.167/0001-01', '60.701.190/0001-04']) {
      assert.equal(isValidCnpj(cnpj), true, cnpj);
    }
  });

  it('accepts the alphanumeric form of 2026 (the Receita Federal example)', () => {
    assert.equal(isValidCnpj('12.ABC.345/01DE-35'), true);
    assert.equal(isValidCnpj('12ABC34501DE35'), true);
    assert.equal(isValidCnpj('12abc34501de35'), true, 'letters are case-insensitive');
    assert.equal(cnpjCheckDigits('12ABC34501DE'), '35');
  });

  it('refuses wrong check digits, wrong lengths, letters in the check digits and repeated digits', () => {
    for (const cnpj of [
      '11.222.333/0001-82',
      '11222333000180',
      '12.ABC.345/01DE-36',
      '12ABC34501DE3A',
      '1122233300018',
      '112223330001811',
      '00000000000000',
      '11111111111111',
      '11.222.333/0001_81',
      '',
      '12.ABC.345/01DE-35 ',
    ]) {
      assert.equal(isValidCnpj(cnpj), false, cnpj);
    }
  });

  it('refuses what passes the arithmetic but is never issued: one repeated character, establishment 0000', () => {
    for (const cnpj of ['AAAAAAAAAAAA45', 'aaaaaaaaaaaa45', 'ZZZZZZZZZZZZ' + cnpjCheckDigits('ZZZZZZZZZZZZ'), '11.222.333/0000-09']) {
      assert.equal(isValidCnpj(cnpj), false, cnpj);
    }
    assert.equal(cnpjCheckDigits('AAAAAAAAAAAA'), '45', 'the check digits alone would let it through');
    assert.equal(cnpjProblem('11.222.333/0000-09'), 'cnpj establishment number (after the slash) must not be 0000');
    assert.equal(isValidCnpj('00.000.000/0001-91'), true, 'a repeated root alone is issued (Banco do Brasil)');
  });

  it('normalises to 14 characters without punctuation, letters upper-cased', () => {
    assert.equal(normaliseCnpj('12.abc.345/01de-35'), '12ABC34501DE35');
    assert.equal(normaliseCnpj('11.222.333/0001-81'), '11222333000181');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gtin14, gtinCheckDigit, gtinProblem, isValidGtin } from '../../shared/catalog/domain/gtin';

describe('GTIN', () => {
  it('accepts GTIN-8, -12, -13 and -14 with a matching mod-10 check digit', () => {
    for (const gtin of ['96385074', '036000291452', '7891000315507', '4006381333931', '17891000315504', '00036000291452']) {
      assert.equal(isValidGtin(gtin), true, gtin);
    }
  });

  it('refuses a wrong check digit, other lengths and non-digits', () => {
    for (const gtin of ['96385075', '036000291453', '7891000315508', '789100031550', '789100031550X', '123456789', '', '７８９１０００３１５５０７']) {
      assert.equal(isValidGtin(gtin), false, gtin);
    }
  });

  it('refuses all zeros, which passes the check digit but names no product', () => {
    for (const gtin of ['00000000', '000000000000', '0000000000000', '00000000000000']) {
      assert.equal(isValidGtin(gtin), false, gtin);
      assert.equal(gtinProblem(gtin), 'gtin must not be all zeros');
    }
  });

  it('computes the check digit from the right: 3, 1, 3…', () => {
    assert.equal(gtinCheckDigit('789100031550'), 7);
    assert.equal(gtinCheckDigit('9638507'), 4);
  });

  it('gives one 14-digit form per product', () => {
    assert.equal(gtin14('7891000315507'), '07891000315507');
    assert.equal(gtin14('036000291452'), '00036000291452');
  });
});

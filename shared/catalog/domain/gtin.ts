/**
 * GTIN (EAN/UPC) barcodes: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13, Brazil's 789/790)
 * and GTIN-14, each ending in a mod-10 check digit.
 */
const GTIN = /^(\d{8}|\d{12}|\d{13}|\d{14})$/;

/** The mod-10 check digit of the digits before it: weights 3, 1, 3… from the right. */
export function gtinCheckDigit(body: string): number {
  let sum = 0;
  for (let index = 0; index < body.length; index++) {
    const weight = (body.length - index) % 2 === 1 ? 3 : 1;
    sum += Number(body[index]) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidGtin(gtin: string): boolean {
  return GTIN.test(gtin) && gtinCheckDigit(gtin.slice(0, -1)) === Number(gtin[gtin.length - 1]);
}

/** The 14-digit form: one product has one GTIN-14 whatever length it was written in. */
export function gtin14(gtin: string): string {
  return gtin.padStart(14, '0');
}

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

/**
 * Why a GTIN is not one, or undefined when it is. All zeros passes the check digit but
 * names nothing: GS1 allocates no company prefix of zeros, so no product carries it, and
 * accepting it would let one placeholder barcode reserve a product for good.
 */
export function gtinProblem(gtin: string): string | undefined {
  if (!GTIN.test(gtin)) return 'gtin must be 8, 12, 13 or 14 digits';
  if (/^0+$/.test(gtin)) return 'gtin must not be all zeros';
  if (gtinCheckDigit(gtin.slice(0, -1)) !== Number(gtin[gtin.length - 1])) return 'gtin check digit does not match';
  return undefined;
}

export function isValidGtin(gtin: string): boolean {
  return gtinProblem(gtin) === undefined;
}

/** The 14-digit form: one product has one GTIN-14 whatever length it was written in. */
export function gtin14(gtin: string): string {
  return gtin.padStart(14, '0');
}

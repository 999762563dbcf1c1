/**
 * CNPJ, the Brazilian company registry number, in both forms: the numeric one and the
 * alphanumeric one introduced in 2026 (twelve characters 0-9/A-Z, two numeric check
 * digits). A character's value is its ASCII code minus 48, so digits keep their value.
 */
const FORMATTED = /^[0-9A-Za-z]{2}\.?[0-9A-Za-z]{3}\.?[0-9A-Za-z]{3}\/?[0-9A-Za-z]{4}-?[0-9]{2}$/;
const NORMALISED = /^[0-9A-Z]{12}[0-9]{2}$/;

/** Strips the punctuation of the printed form and upper-cases the letters. */
export function normaliseCnpj(input: string): string {
  return input.replace(/[./-]/g, '').toUpperCase();
}

function checkDigit(characters: string): number {
  let sum = 0;
  let weight = 2;
  for (let index = characters.length - 1; index >= 0; index--) {
    sum += (characters.charCodeAt(index) - 48) * weight;
    weight = weight === 9 ? 2 : weight + 1;
  }
  const remainder = sum % 11;
  return remainder < 2 ? 0 : 11 - remainder;
}

/** The two check digits of a twelve-character CNPJ base. */
export function cnpjCheckDigits(base: string): string {
  const first = checkDigit(base);
  return `${first}${checkDigit(base + first)}`;
}

/**
 * Why a CNPJ is not one, or undefined when it is. The twelve-character base is the root
 * (eight, the company) and the order (four, the establishment: 0001 the head office, then
 * its branches). Two shapes pass the check-digit arithmetic but are never issued:
 * - a base of one repeated character (`000000000000`, `AAAAAAAAAAAA`): the old rule against
 *   repeated digits, extended to the letters the 2026 form allows, for the same reason,
 *   they are what a form gets filled with, not a registration. A repeated root alone is
 *   issued (Banco do Brasil is 00.000.000/0001-91), so only the whole base is refused;
 * - order `0000`: establishments are numbered from 0001, so no establishment has it.
 */
export function cnpjProblem(input: string): string | undefined {
  const cnpj = normaliseCnpj(input);
  if (!FORMATTED.test(input) || !NORMALISED.test(cnpj)) {
    return 'cnpj must be 14 characters (12 letters or digits, 2 check digits), printed or bare';
  }
  if (/^(.)\1{11}/.test(cnpj)) return 'cnpj must not repeat one character throughout';
  if (cnpj.slice(8, 12) === '0000') return 'cnpj establishment number (after the slash) must not be 0000';
  if (cnpj.slice(12) !== cnpjCheckDigits(cnpj.slice(0, 12))) return 'cnpj check digits do not match';
  return undefined;
}

export function isValidCnpj(input: string): boolean {
  return cnpjProblem(input) === undefined;
}

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

export function isValidCnpj(input: string): boolean {
  if (!FORMATTED.test(input)) return false;
  const cnpj = normaliseCnpj(input);
  // Repeated digits pass the arithmetic but are not issued.
  if (!NORMALISED.test(cnpj) || /^(\d)\1{13}$/.test(cnpj)) return false;
  return cnpj.slice(12) === cnpjCheckDigits(cnpj.slice(0, 12));
}

/**
 * Brazilian value objects every context shares (a shared kernel): federative units, CEP
 * and phone numbers. Pure values, no I/O, so domains may import them.
 */
/** The 27 federative units (UF). */
export const BRAZILIAN_STATES = [
  'AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA',
  'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO',
] as const;
export type BrazilianState = (typeof BRAZILIAN_STATES)[number];

/**
 * Where "near a point" may search: Brazil's extent, islands included (5.3° N to 33.8° S,
 * 28.8° W to 74° W), with a margin. Also what keeps a searched box's polygon valid: away
 * from the poles and the antimeridian, where its edges' great-circle bow stays far below
 * the query's one-grid-step margin (at most ~130 m for a 50 km radius at 34° S).
 */
export const BRAZIL_EXTENT = { minLat: -35, maxLat: 6, minLon: -75, maxLon: -28 } as const;

export const POSTAL_CODE = /^\d{5}-?\d{3}$/;

/** CEP in its printed form, `01310-100`, whether or not it came with the dash. */
export function normalisePostalCode(input: string): string {
  const digits = input.replace('-', '');
  return `${digits.slice(0, 5)}-${digits.slice(5)}`;
}

/** What may be typed for a phone: digits with the usual separators and an optional +55. */
export const PHONE_INPUT = /^\+?[\d\s().-]{8,24}$/;

/**
 * A Brazilian phone number in E.164 (`+5511987654321`): area code 11-99, then eight
 * digits (landline) or nine starting with 9 (mobile). Undefined when it is not one.
 */
export function normalisePhone(input: string): string | undefined {
  let digits = input.replace(/\D/g, '');
  if (digits.length >= 12 && digits.startsWith('55')) digits = digits.slice(2);
  const match = /^([1-9][1-9])(9\d{8}|[2-8]\d{7})$/.exec(digits);
  return match ? `+55${match[1]}${match[2]}` : undefined;
}

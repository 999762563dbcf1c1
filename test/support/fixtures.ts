import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { cnpjCheckDigits } from '../../shared/pharmacies/domain/cnpj';

export function validCnpj(base = '112223330001'): string {
  return base + cnpjCheckDigits(base);
}

let counter = 0;
/** A unique valid CNPJ per call, so tests never collide on the uniqueness rule. */
export function uniqueCnpj(): string {
  counter += 1;
  const base = `${String(process.pid % 100).padStart(2, '0')}${String(Date.now() % 1e6).padStart(6, '0')}${String(counter).padStart(4, '0')}`;
  return validCnpj(base);
}

export function pharmacyBody(overrides: Record<string, unknown> = {}) {
  return {
    cnpj: uniqueCnpj(),
    tradeName: 'Drogaria Teste',
    legalName: 'Drogaria Teste Comércio de Medicamentos Ltda',
    phone: '(11) 3456-7890',
    address: {
      street: 'Avenida Paulista',
      number: '1000',
      district: 'Bela Vista',
      city: 'São Paulo',
      state: 'SP',
      postalCode: '01310-100',
    },
    location: { lat: -23.5614, lon: -46.6559 },
    openingHours: [
      { day: 'mon', opens: '08:00', closes: '22:00' },
      { day: 'tue', opens: '08:00', closes: '22:00' },
    ],
    services: ['delivery'],
    ...overrides,
  };
}

let gtins = 0;
/** A unique valid GTIN-13 per call, so tests never collide on the catalogue's uniqueness rule. */
export function uniqueGtin(): string {
  gtins += 1;
  const body = `789${String(800_000_000 + (Date.now() % 1000) * 1000 + gtins).slice(-9)}`;
  return body + gtinCheckDigit(body);
}

const DAY_MS = 86_400_000;
/** An offer valid from a day ago for `validDays` days, in stock. */
export const offerBody = (pharmacyId: string, productId: string, priceCents: number, validDays = 30) => ({
  pharmacyId,
  productId,
  priceCents,
  validFrom: new Date(Date.now() - DAY_MS).toISOString(),
  validUntil: new Date(Date.now() + validDays * DAY_MS).toISOString(),
  stock: 'in_stock',
});

/** A product whose every text is near its longest: a page of them fills a cache quickly. */
export const bulkyProductBody = (n: number) => ({
  gtin: uniqueGtin(),
  name: `Produto ${n} ${'x'.repeat(180)}`,
  brand: 'Marca',
  manufacturer: 'Laboratório '.padEnd(180, 'y'),
  activeIngredients: ['dipirona'],
  presentation: '500 mg '.padEnd(180, 'z'),
  form: 'tablet',
  category: 'medicines',
  prescription: 'none',
  generic: false,
});

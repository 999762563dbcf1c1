import { writeFileSync } from 'node:fs';
import { cnpjCheckDigits } from '../shared/pharmacies/domain/cnpj';
import type { OpeningInterval, WeekDay } from '../shared/pharmacies/domain/opening-hours';
import { WEEK_DAYS } from '../shared/pharmacies/domain/opening-hours';
import { demoProducts } from './demo-products';
import type { LocalHost } from './host';

interface City {
  city: string;
  state: string;
  center: { lat: number; lon: number };
  postalPrefix: string;
  districts: string[];
  streets: string[];
}

const CITIES: City[] = [
  {
    city: 'São Paulo', state: 'SP', center: { lat: -23.5614, lon: -46.6559 }, postalPrefix: '01',
    districts: ['Bela Vista', 'Consolação', 'Jardins', 'Pinheiros', 'Vila Mariana', 'Liberdade', 'Moema', 'Perdizes'],
    streets: ['Avenida Paulista', 'Rua Augusta', 'Rua Oscar Freire', 'Rua dos Pinheiros', 'Rua Domingos de Morais', 'Rua da Liberdade', 'Avenida Ibirapuera', 'Rua Cardoso de Almeida'],
  },
  {
    city: 'Campinas', state: 'SP', center: { lat: -22.9056, lon: -47.0608 }, postalPrefix: '13',
    districts: ['Cambuí', 'Centro', 'Taquaral', 'Barão Geraldo', 'Guanabara'],
    streets: ['Rua Coronel Quirino', 'Avenida Francisco Glicério', 'Avenida Heitor Penteado', 'Avenida Albino J. B. de Oliveira', 'Rua Barão de Jaguara'],
  },
  {
    city: 'Rio de Janeiro', state: 'RJ', center: { lat: -22.9519, lon: -43.1857 }, postalPrefix: '22',
    districts: ['Copacabana', 'Botafogo', 'Ipanema', 'Flamengo', 'Tijuca', 'Leblon'],
    streets: ['Avenida Nossa Senhora de Copacabana', 'Rua Voluntários da Pátria', 'Rua Visconde de Pirajá', 'Rua do Catete', 'Rua Conde de Bonfim', 'Avenida Ataulfo de Paiva'],
  },
  {
    city: 'Belo Horizonte', state: 'MG', center: { lat: -19.9320, lon: -43.9380 }, postalPrefix: '30',
    districts: ['Savassi', 'Funcionários', 'Lourdes', 'Centro', 'Santo Agostinho'],
    streets: ['Avenida Getúlio Vargas', 'Rua Pernambuco', 'Rua da Bahia', 'Avenida Afonso Pena', 'Rua dos Timbiras'],
  },
];

const CHAINS = ['Drogaria Vida', 'Farmácia Bem Estar', 'Drogaria Saúde Total', 'Farmácia do Povo', 'Drogaria Central', 'Farmácia Esperança'];

const weekdays = WEEK_DAYS.slice(0, 5);
const every = (days: readonly WeekDay[], opens: string, closes: string): OpeningInterval[] =>
  days.map((day) => ({ day, opens, closes }));

/** Three kinds of hours: shop hours, around the clock, and late nights past midnight. */
const HOURS: { hours: OpeningInterval[]; services: string[] }[] = [
  {
    hours: [...every(weekdays, '08:00', '22:00'), ...every(['sat'], '08:00', '20:00'), ...every(['sun'], '09:00', '18:00')],
    services: ['delivery', 'blood-pressure', 'farmacia-popular'],
  },
  { hours: every(WEEK_DAYS, '00:00', '24:00'), services: ['open-24h', 'delivery', 'drive-thru', 'pharmacist-consultation'] },
  {
    hours: [...every(['mon', 'tue', 'wed', 'thu', 'sun'], '07:00', '23:00'), ...every(['fri', 'sat'], '07:00', '02:00')],
    services: ['vaccination', 'glucose-test', 'blood-pressure', 'pharmacist-consultation'],
  },
  { hours: [...every(weekdays, '09:00', '19:00'), ...every(['sat'], '09:00', '13:00')], services: ['compounding', 'delivery'] },
];

function demoCnpj(index: number): string {
  // Every fifth pharmacy has an alphanumeric CNPJ, the form issued from 2026.
  const base = index % 5 === 4 ? `${String(12 + index).padStart(2, '0')}AB${String(345 + index).padStart(4, '0')}01C${index % 10}` : `${String(11_222_333 + index * 7919).padStart(8, '0')}0001`;
  return base + cnpjCheckDigits(base);
}

/** The demo pharmacies: 24 in four cities of three states, with plausible places and hours. */
export function demoPharmacies() {
  const pharmacies = [];
  for (let index = 0; index < 24; index++) {
    const city = CITIES[index % CITIES.length];
    const slot = Math.floor(index / CITIES.length);
    const chain = CHAINS[(index + slot) % CHAINS.length];
    const district = city.districts[slot % city.districts.length];
    const kind = HOURS[index % HOURS.length];
    // Spread within about 4 km of the centre, deterministically.
    const angle = (index * 137.5 * Math.PI) / 180;
    const distance = 0.004 + 0.006 * slot;
    pharmacies.push({
      cnpj: demoCnpj(index),
      tradeName: `${chain} ${district}`,
      legalName: `${chain} Comércio de Medicamentos Ltda`,
      phone: `(${city.state === 'SP' ? (city.city === 'Campinas' ? '19' : '11') : city.state === 'RJ' ? '21' : '31'}) 3${String(100 + index).padStart(3, '0')}-${String(4000 + index * 37).slice(0, 4)}`,
      address: {
        street: city.streets[slot % city.streets.length],
        number: String(100 + index * 47),
        district,
        city: city.city,
        state: city.state,
        postalCode: `${city.postalPrefix}${String(100 + index * 13).padStart(3, '0')}-${String(index * 7).padStart(3, '0')}`,
      },
      location: {
        lat: Math.round((city.center.lat + Math.sin(angle) * distance) * 1e6) / 1e6,
        lon: Math.round((city.center.lon + Math.cos(angle) * distance) * 1e6) / 1e6,
      },
      timeZone: 'America/Sao_Paulo',
      openingHours: kind.hours,
      services: kind.services,
    });
  }
  return pharmacies;
}

const DAY_MS = 86_400_000;

/**
 * The demo offers: every pharmacy sells the five best sellers and ten more products, at
 * prices that differ by pharmacy (so "cheapest near me" has an answer worth asking for),
 * some with a list price that shows a discount, a few low or out of stock.
 */
export function demoOffers(pharmacyIds: string[], productIds: string[], now: Date) {
  const offers = [];
  for (const [p, pharmacyId] of pharmacyIds.entries()) {
    const chosen = new Set([0, 1, 2, 3, 4]);
    for (let k = 0; chosen.size < 15; k++) chosen.add((5 + p * 7 + k * 11) % productIds.length);
    for (const index of chosen) {
      const base = 590 + ((index * 1_237) % 8_000);
      const factor = 0.82 + (((p * 31 + index * 17) % 40) / 100);
      const priceCents = Math.round((base * factor) / 10) * 10 - 1;
      const discounted = (p + index) % 3 === 0;
      offers.push({
        pharmacyId,
        productId: productIds[index],
        priceCents,
        ...(discounted ? { listPriceCents: Math.round(priceCents * (1.08 + ((p + index) % 5) * 0.06)) } : {}),
        validFrom: new Date(now.getTime() - DAY_MS).toISOString(),
        validUntil: new Date(now.getTime() + 30 * DAY_MS).toISOString(),
        stock: (p * 13 + index) % 17 === 0 ? 'out_of_stock' : (p + index) % 7 === 0 ? 'low' : 'in_stock',
      });
    }
  }
  return offers;
}

/**
 * Seeds through the real command handlers (the offers through the partner feed), so the
 * demo data has a real history; `adminToken` is the administrator it acts as.
 */
export async function seedDemoData(host: LocalHost, adminToken: string, now = new Date()) {
  const asAdmin = { authorization: `Bearer ${adminToken}` };
  const create = async (path: string, bodies: object[]) => {
    const ids: string[] = [];
    for (const body of bodies) {
      const answer = await host.dispatch('POST', path, body, asAdmin);
      if (answer.status !== 201) throw new Error(`demo ${path} refused (${answer.status}): ${JSON.stringify(answer.body)}`);
      ids.push((answer.body as { id: string }).id);
    }
    return ids;
  };
  const pharmacies = await create('pharmacies', demoPharmacies());
  const products = await create('products', demoProducts());
  const offers = demoOffers(pharmacies, products, now);
  let published = 0;
  for (let start = 0; start < offers.length; start += 500) {
    const answer = await host.dispatch('POST', 'offers/batch', { items: offers.slice(start, start + 500) }, asAdmin);
    if (answer.status !== 200) throw new Error(`demo offers refused (${answer.status}): ${JSON.stringify(answer.body)}`);
    const results = (answer.body as { results: { status: number }[] }).results;
    const refused = results.filter((result) => result.status >= 300);
    if (answer.status !== 200 || refused.length) throw new Error(`demo offers refused: ${JSON.stringify(refused.slice(0, 3))}`);
    published += results.length;
  }
  return { pharmacies, products, offers: published };
}

/**
 * One demo account per role, for the local profile only (the README lists them; the
 * Functions app never seeds). The partner client's secret is shown once, so it goes to a
 * file only its owner can read, not to the log.
 */
export const DEMO_USERS = [
  { email: 'admin@demo.farmacias.local', password: 'demo admin passphrase', name: 'Ana Administradora', roles: ['admin'] },
  { email: 'catalogo@demo.farmacias.local', password: 'demo catalog passphrase', name: 'Carlos Catálogo', roles: ['catalog-editor'] },
  { email: 'farmaceutica@demo.farmacias.local', password: 'demo pharmacist passphrase', name: 'Fernanda Farmacêutica', roles: ['pharmacist'] },
  { email: 'cliente@demo.farmacias.local', password: 'demo customer passphrase', name: 'Cláudio Cliente', roles: ['customer'] },
] as const;

export async function seedDemoUsers(host: LocalHost, adminToken: string, pharmacyIds: string[], partnerFile: string) {
  const asAdmin = { authorization: `Bearer ${adminToken}` };
  const boundTo = pharmacyIds.slice(0, 2);
  for (const user of DEMO_USERS) {
    const created = await host.dispatch('POST', 'auth/register', { email: user.email, password: user.password, name: user.name });
    if (created.status !== 201) throw new Error(`demo user refused (${created.status})`);
    const id = (created.body as { id: string }).id;
    if (user.roles[0] !== 'customer') {
      const pharmacies = user.roles[0] === 'pharmacist' ? boundTo : [];
      const assigned = await host.dispatch('POST', `auth/users/${id}/roles`, { roles: user.roles, pharmacyIds: pharmacies }, asAdmin);
      if (assigned.status !== 200) throw new Error(`demo roles refused (${assigned.status})`);
    }
  }
  const client = await host.dispatch('POST', 'auth/clients', { name: 'Parceiro Demo', scopes: ['offers:write', 'pharmacies:write'], pharmacyIds: pharmacyIds.slice(0, 3) }, asAdmin);
  if (client.status !== 201) throw new Error(`demo partner refused (${client.status})`);
  writeFileSync(partnerFile, JSON.stringify({ ...(client.body as object), pharmacyIds: pharmacyIds.slice(0, 3) }, null, 2), { mode: 0o600 });
}

import type { Address, GeoPoint, OpeningInterval } from './api';

const reais = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
const kilometres = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 });
const metres = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 0 });
const savedAt = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short' });

export const price = (cents: number) => reais.format(cents / 100);

export const distance = (km: number) => (km < 1 ? `${metres.format(Math.round(km * 1000))} m` : `${kilometres.format(km)} km`);

export const when = (iso: string) => savedAt.format(new Date(iso));

export function addressLine(address: Address): string {
  const street = [address.street, address.number, address.complement].filter(Boolean).join(', ');
  return `${street} – ${address.district}, ${address.city}/${address.state}`;
}

/** A link the phone hands to its maps app (Android and iOS both open this URL in it). */
export function mapsLink(location: GeoPoint, label: string): string {
  const query = `${location.lat},${location.lon} (${label})`;
  return `https://www.google.com/maps/search/?api=1&query=${encodeURIComponent(query)}`;
}

export const DAY_NAMES: Record<OpeningInterval['day'], string> = {
  mon: 'Segunda',
  tue: 'Terça',
  wed: 'Quarta',
  thu: 'Quinta',
  fri: 'Sexta',
  sat: 'Sábado',
  sun: 'Domingo',
};

export const SERVICE_NAMES: Record<string, string> = {
  delivery: 'Entrega',
  'drive-thru': 'Drive-thru',
  vaccination: 'Vacinação',
  'pharmacist-consultation': 'Consulta farmacêutica',
  'blood-pressure': 'Aferição de pressão',
  'glucose-test': 'Teste de glicemia',
  compounding: 'Manipulação',
  'open-24h': 'Aberta 24 horas',
  'farmacia-popular': 'Farmácia Popular',
};

export const STOCK_NAMES: Record<string, string> = {
  in_stock: 'Em estoque',
  low: 'Últimas unidades',
  out_of_stock: 'Sem estoque',
};

/**
 * Reais as typed in Brazil or elsewhere, to cents: "12,90", "12.90", "1.234,56", "R$ 9".
 * Undefined for anything else (the API then says what it needs).
 */
export function parseReais(text: string): number | undefined {
  const plain = text.replace(/R\$|\s/g, '');
  const match = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:[,.](\d{1,2}))?$/.exec(plain);
  if (!match) return undefined;
  const cents = Number(match[1].replace(/\./g, '')) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : undefined;
}

/** A price as the portal's inputs show it: "12,90". */
export const reaisInput = (cents: number) => (cents / 100).toFixed(2).replace('.', ',');

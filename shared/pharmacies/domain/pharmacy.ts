import { sameValue, type Decider } from '../../kernel/decider';
import { Conflict, InvalidInput, NotFound } from '../../kernel/errors';
import type { BrazilianState } from '../../kernel/brazil';
import { cnpjProblem, normaliseCnpj } from './cnpj';
import type { GeoPoint } from './geo';
import { assertValidOpeningHours, isKnownTimeZone, sameOpeningHours, type OpeningInterval } from './opening-hours';

/** Services a pharmacy can offer; the list is part of the API contract. */
export const PHARMACY_SERVICES = [
  'delivery',
  'drive-thru',
  'vaccination',
  'pharmacist-consultation',
  'blood-pressure',
  'glucose-test',
  'compounding',
  'open-24h',
  'farmacia-popular',
] as const;
export type PharmacyService = (typeof PHARMACY_SERVICES)[number];

export const DEFAULT_TIME_ZONE = 'America/Sao_Paulo';

export interface Address {
  street: string;
  number: string;
  complement?: string;
  district: string;
  city: string;
  state: BrazilianState;
  postalCode: string;
}

export interface PharmacyProfile {
  cnpj: string;
  tradeName: string;
  legalName: string;
  phone: string;
  address: Address;
  location: GeoPoint;
  timeZone: string;
  openingHours: OpeningInterval[];
  services: PharmacyService[];
}

/**
 * The time zone is among them: registration defaults it to São Paulo's, which is an hour
 * off in Manaus or Cuiabá, and every "open now" is read on it.
 */
export type ProfileChanges = Partial<Pick<PharmacyProfile, 'tradeName' | 'legalName' | 'phone' | 'services' | 'timeZone'>>;

export type PharmacyEvent =
  | { type: 'PharmacyRegistered'; data: PharmacyProfile & { pharmacyId: string; registeredAt: string } }
  | { type: 'PharmacyProfileChanged'; data: { pharmacyId: string; changes: ProfileChanges; changedAt: string } }
  | { type: 'PharmacyOpeningHoursChanged'; data: { pharmacyId: string; openingHours: OpeningInterval[]; changedAt: string } }
  | { type: 'PharmacyRelocated'; data: { pharmacyId: string; address: Address; location: GeoPoint; relocatedAt: string } }
  | { type: 'PharmacyClosed'; data: { pharmacyId: string; closedAt: string } }
  | { type: 'PharmacyReopened'; data: { pharmacyId: string; reopenedAt: string } };

export const PHARMACY_EVENT_TYPES: readonly PharmacyEvent['type'][] = [
  'PharmacyRegistered',
  'PharmacyProfileChanged',
  'PharmacyOpeningHoursChanged',
  'PharmacyRelocated',
  'PharmacyClosed',
  'PharmacyReopened',
];

export type PharmacyCommand =
  | { type: 'RegisterPharmacy'; pharmacyId: string; profile: PharmacyProfile; now: Date }
  | { type: 'ChangePharmacyProfile'; pharmacyId: string; changes: ProfileChanges; now: Date }
  | { type: 'ChangeOpeningHours'; pharmacyId: string; openingHours: OpeningInterval[]; now: Date }
  | { type: 'RelocatePharmacy'; pharmacyId: string; address: Address; location: GeoPoint; now: Date }
  | { type: 'ClosePharmacy'; pharmacyId: string; now: Date }
  | { type: 'ReopenPharmacy'; pharmacyId: string; now: Date };

interface Registered {
  id: string;
  profile: PharmacyProfile;
}

export type Pharmacy = { status: 'none' } | ({ status: 'active' } & Registered) | ({ status: 'closed' } & Registered);

export const initialState: Pharmacy = { status: 'none' };

export function evolve(state: Pharmacy, event: PharmacyEvent): Pharmacy {
  switch (event.type) {
    case 'PharmacyRegistered': {
      const { pharmacyId, registeredAt: _registeredAt, ...profile } = event.data;
      return { status: 'active', id: pharmacyId, profile };
    }
    case 'PharmacyProfileChanged':
      return state.status === 'none' ? state : { ...state, profile: { ...state.profile, ...event.data.changes } };
    case 'PharmacyOpeningHoursChanged':
      return state.status === 'none' ? state : { ...state, profile: { ...state.profile, openingHours: event.data.openingHours } };
    case 'PharmacyRelocated':
      return state.status === 'none'
        ? state
        : { ...state, profile: { ...state.profile, address: event.data.address, location: event.data.location } };
    case 'PharmacyClosed':
      return state.status === 'none' ? state : { ...state, status: 'closed' };
    case 'PharmacyReopened':
      return state.status === 'none' ? state : { ...state, status: 'active' };
  }
}

function assertKnownTimeZone(timeZone: string): void {
  if (!isKnownTimeZone(timeZone)) {
    throw new InvalidInput('the time zone is not known', [{ field: 'timeZone', message: 'use an IANA name such as America/Sao_Paulo' }]);
  }
}

function assertValidProfile(profile: PharmacyProfile): void {
  const cnpjReason = cnpjProblem(profile.cnpj);
  if (cnpjReason) throw new InvalidInput('the CNPJ is not valid', [{ field: 'cnpj', message: cnpjReason }]);
  assertKnownTimeZone(profile.timeZone);
  assertValidOpeningHours(profile.openingHours);
}

/** Closed pharmacies keep their profile as it was: reopen first, then change it. */
function requireActive(state: Pharmacy): asserts state is { status: 'active' } & Registered {
  if (state.status === 'none') throw new NotFound('no such pharmacy');
  if (state.status === 'closed') throw new Conflict('the pharmacy is closed; reopen it first');
}

export function decide(command: PharmacyCommand, state: Pharmacy): PharmacyEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterPharmacy': {
      if (state.status !== 'none') throw new Conflict('the pharmacy is already registered');
      const profile = { ...command.profile, cnpj: normaliseCnpj(command.profile.cnpj) };
      assertValidProfile(profile);
      return [{ type: 'PharmacyRegistered', data: { pharmacyId: command.pharmacyId, ...profile, registeredAt: at } }];
    }
    case 'ChangePharmacyProfile': {
      requireActive(state);
      if (command.changes.timeZone !== undefined) assertKnownTimeZone(command.changes.timeZone);
      const changes = Object.fromEntries(
        Object.entries(command.changes).filter(([field, value]) => !sameValue(state.profile[field as keyof ProfileChanges], value)),
      ) as ProfileChanges;
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'PharmacyProfileChanged', data: { pharmacyId: state.id, changes, changedAt: at } }];
    }
    case 'ChangeOpeningHours': {
      requireActive(state);
      assertValidOpeningHours(command.openingHours);
      if (sameOpeningHours(state.profile.openingHours, command.openingHours)) return [];
      return [{ type: 'PharmacyOpeningHoursChanged', data: { pharmacyId: state.id, openingHours: command.openingHours, changedAt: at } }];
    }
    case 'RelocatePharmacy': {
      requireActive(state);
      if (sameValue(state.profile.address, command.address) && sameValue(state.profile.location, command.location)) return [];
      return [{ type: 'PharmacyRelocated', data: { pharmacyId: state.id, address: command.address, location: command.location, relocatedAt: at } }];
    }
    case 'ClosePharmacy':
      if (state.status === 'closed') throw new Conflict('the pharmacy is already closed');
      requireActive(state);
      return [{ type: 'PharmacyClosed', data: { pharmacyId: state.id, closedAt: at } }];
    case 'ReopenPharmacy':
      if (state.status === 'none') throw new NotFound('no such pharmacy');
      if (state.status === 'active') throw new Conflict('the pharmacy is not closed');
      return [{ type: 'PharmacyReopened', data: { pharmacyId: state.id, reopenedAt: at } }];
  }
}

export const pharmacyDecider: Decider<PharmacyCommand, PharmacyEvent, Pharmacy> = { initialState, evolve, decide };

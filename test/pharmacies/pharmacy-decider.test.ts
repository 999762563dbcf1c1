import { describe, it } from 'node:test';
import { Conflict, InvalidInput, NotFound } from '../../shared/kernel/errors';
import {
  pharmacyDecider,
  type PharmacyCommand,
  type PharmacyEvent,
  type PharmacyProfile,
} from '../../shared/pharmacies/domain/pharmacy';
import { specification } from '../support/decider';

const given = specification(pharmacyDecider);
const now = new Date('2026-11-27T12:00:00Z');
const at = now.toISOString();
const pharmacyId = '5b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';

const profile: PharmacyProfile = {
  cnpj: '11222333000181',
  tradeName: 'Drogaria Vida',
  legalName: 'Drogaria Vida Ltda',
  phone: '+551134567890',
  address: { street: 'Rua Augusta', number: '10', district: 'Consolação', city: 'São Paulo', state: 'SP', postalCode: '01305-000' },
  location: { lat: -23.55, lon: -46.65 },
  timeZone: 'America/Sao_Paulo',
  openingHours: [{ day: 'mon', opens: '08:00', closes: '22:00' }],
  services: ['delivery'],
};

const registered: PharmacyEvent = { type: 'PharmacyRegistered', data: { pharmacyId, ...profile, registeredAt: at } };
const closed: PharmacyEvent = { type: 'PharmacyClosed', data: { pharmacyId, closedAt: at } };
const reopened: PharmacyEvent = { type: 'PharmacyReopened', data: { pharmacyId, reopenedAt: at } };

const register = (overrides: Partial<PharmacyProfile> = {}): PharmacyCommand => ({
  type: 'RegisterPharmacy',
  pharmacyId,
  profile: { ...profile, ...overrides },
  now,
});
const close: PharmacyCommand = { type: 'ClosePharmacy', pharmacyId, now };
const reopen: PharmacyCommand = { type: 'ReopenPharmacy', pharmacyId, now };
const newAddress = { ...profile.address, street: 'Rua Oscar Freire', number: '200' };
const relocate: PharmacyCommand = { type: 'RelocatePharmacy', pharmacyId, address: newAddress, location: { lat: -23.56, lon: -46.67 }, now };
const newHours = [{ day: 'sat' as const, opens: '09:00', closes: '13:00' }];
const changeHours: PharmacyCommand = { type: 'ChangeOpeningHours', pharmacyId, openingHours: newHours, now };
const rename: PharmacyCommand = { type: 'ChangePharmacyProfile', pharmacyId, changes: { tradeName: 'Drogaria Vida Nova' }, now };

describe('Pharmacy decider', () => {
  describe('registering', () => {
    it('registers a new pharmacy', () => given([]).when(register()).then([registered]));

    it('normalises a printed CNPJ', () => given([]).when(register({ cnpj: '11.222.333/0001-81' })).then([registered]));

    it('accepts an alphanumeric CNPJ', () =>
      given([])
        .when(register({ cnpj: '12.ABC.345/01DE-35' }))
        .then([{ type: 'PharmacyRegistered', data: { pharmacyId, ...profile, cnpj: '12ABC34501DE35', registeredAt: at } }]));

    it('refuses a CNPJ whose check digits do not match', () =>
      given([]).when(register({ cnpj: '11222333000182' })).thenThrows(InvalidInput, /CNPJ/));

    it('refuses an unknown time zone', () =>
      given([]).when(register({ timeZone: 'America/Atlantis' })).thenThrows(InvalidInput, /time zone/));

    it('refuses overlapping opening hours', () =>
      given([])
        .when(register({ openingHours: [{ day: 'mon', opens: '08:00', closes: '14:00' }, { day: 'mon', opens: '13:00', closes: '20:00' }] }))
        .thenThrows(InvalidInput, /overlap/));

    it('refuses registering twice', () => given([registered]).when(register()).thenThrows(Conflict));
  });

  describe('changing the profile', () => {
    it('records only the fields that change', () =>
      given([registered])
        .when({ type: 'ChangePharmacyProfile', pharmacyId, changes: { tradeName: 'Drogaria Vida Nova', phone: profile.phone }, now })
        .then([{ type: 'PharmacyProfileChanged', data: { pharmacyId, changes: { tradeName: 'Drogaria Vida Nova' }, changedAt: at } }]));

    it('records nothing when nothing changes', () =>
      given([registered]).when({ type: 'ChangePharmacyProfile', pharmacyId, changes: { services: ['delivery'] }, now }).then([]));

    it('refuses changes to a closed pharmacy', () => given([registered, closed]).when(rename).thenThrows(Conflict, /closed/));

    it('accepts changes again after reopening', () =>
      given([registered, closed, reopened])
        .when(rename)
        .then([{ type: 'PharmacyProfileChanged', data: { pharmacyId, changes: { tradeName: 'Drogaria Vida Nova' }, changedAt: at } }]));

    it('corrects the time zone its hours are read on', () =>
      given([registered])
        .when({ type: 'ChangePharmacyProfile', pharmacyId, changes: { timeZone: 'America/Manaus' }, now })
        .then([{ type: 'PharmacyProfileChanged', data: { pharmacyId, changes: { timeZone: 'America/Manaus' }, changedAt: at } }]));

    it('refuses an unknown time zone', () =>
      given([registered])
        .when({ type: 'ChangePharmacyProfile', pharmacyId, changes: { timeZone: 'America/Atlantis' }, now })
        .thenThrows(InvalidInput, /time zone/));

    it('refuses a pharmacy that does not exist', () => given([]).when(rename).thenThrows(NotFound));
  });

  describe('opening hours', () => {
    it('replaces the opening hours', () =>
      given([registered])
        .when(changeHours)
        .then([{ type: 'PharmacyOpeningHoursChanged', data: { pharmacyId, openingHours: newHours, changedAt: at } }]));

    it('records nothing for the same hours in another order', () =>
      given([registered])
        .when({ type: 'ChangeOpeningHours', pharmacyId, openingHours: [...profile.openingHours], now })
        .then([]));

    it('refuses overlapping hours', () =>
      given([registered])
        .when({ type: 'ChangeOpeningHours', pharmacyId, openingHours: [{ day: 'fri', opens: '20:00', closes: '03:00' }, { day: 'sat', opens: '02:00', closes: '10:00' }], now })
        .thenThrows(InvalidInput));

    it('refuses changes to a closed pharmacy', () => given([registered, closed]).when(changeHours).thenThrows(Conflict));
  });

  describe('relocation', () => {
    it('moves the pharmacy', () =>
      given([registered])
        .when(relocate)
        .then([{ type: 'PharmacyRelocated', data: { pharmacyId, address: newAddress, location: { lat: -23.56, lon: -46.67 }, relocatedAt: at } }]));

    it('records nothing when it stays where it is', () =>
      given([registered]).when({ type: 'RelocatePharmacy', pharmacyId, address: profile.address, location: profile.location, now }).then([]));

    it('records nothing when the same address and location come with their members in another order', () => {
      const reversed = <T extends object>(value: T) => Object.fromEntries(Object.entries(value).reverse()) as T;
      return given([registered]).when({ type: 'RelocatePharmacy', pharmacyId, address: reversed(profile.address), location: reversed(profile.location), now }).then([]);
    });

    it('refuses to move a closed pharmacy', () => given([registered, closed]).when(relocate).thenThrows(Conflict));
  });

  describe('closing and reopening', () => {
    it('closes an active pharmacy', () => given([registered]).when(close).then([closed]));
    it('refuses to close a closed pharmacy', () => given([registered, closed]).when(close).thenThrows(Conflict, /already closed/));
    it('reopens a closed pharmacy', () => given([registered, closed]).when(reopen).then([reopened]));
    it('refuses to reopen an open pharmacy', () => given([registered]).when(reopen).thenThrows(Conflict, /not closed/));
    it('refuses to reopen a pharmacy that does not exist', () => given([]).when(reopen).thenThrows(NotFound));
  });
});

import Joi from 'joi';
import { commandHandler } from '../kernel/command';
import { adminOnly, pharmacyStaff } from '../kernel/policies';
import { matching, phoneSchema, refuse, text } from '../kernel/schemas';
import type { ServiceProvider } from '../kernel/services';
import { BRAZILIAN_STATES, normalisePhone, normalisePostalCode, POSTAL_CODE } from '../kernel/brazil';
import { cnpjProblem } from './domain/cnpj';
import { CLOSES_PATTERN, OPENS_PATTERN, WEEK_DAYS, type OpeningInterval } from './domain/opening-hours';
import {
  DEFAULT_TIME_ZONE,
  PHARMACY_SERVICES,
  pharmacyDecider,
  type Address,
  type PharmacyProfile,
  type ProfileChanges,
} from './domain/pharmacy';
import type { GeoPoint } from './domain/geo';
import { PHARMACY_SNAPSHOTS, pharmacyStreamId } from './status';

const cnpj = Joi.string()
  .max(18)
  .custom((value: string, helpers) => {
    const reason = cnpjProblem(value);
    return reason === undefined ? value : refuse(helpers, '{#reason}', { reason });
  });

const phone = phoneSchema;

const services = Joi.array()
  .items(Joi.string().valid(...PHARMACY_SERVICES))
  .unique()
  .max(PHARMACY_SERVICES.length);

export const addressSchema = Joi.object<Address>({
  street: text(200).required(),
  number: text(20).required(),
  complement: text(100),
  district: text(100).required(),
  city: text(100).required(),
  state: Joi.string().valid(...BRAZILIAN_STATES).required(),
  postalCode: matching(POSTAL_CODE, 'postalCode must be 8 digits (CEP), with or without the dash').required(),
});

export const locationSchema = Joi.object<GeoPoint>({
  lat: Joi.number().min(-90).max(90).required(),
  lon: Joi.number().min(-180).max(180).required(),
});

export const openingHoursSchema = Joi.array()
  .items(
    Joi.object<OpeningInterval>({
      day: Joi.string().valid(...WEEK_DAYS).required(),
      opens: matching(OPENS_PATTERN, 'opens must be HH:MM from 00:00 to 23:59').required(),
      closes: matching(CLOSES_PATTERN, 'closes must be HH:MM from 00:00 to 24:00').required(),
    }),
  )
  .max(28);

export const registerSchema = Joi.object<PharmacyProfile>({
  cnpj: cnpj.required(),
  tradeName: text(120).required(),
  legalName: text(200).required(),
  phone: phone.required(),
  address: addressSchema.required(),
  location: locationSchema.required(),
  timeZone: Joi.string().max(64).default(DEFAULT_TIME_ZONE),
  openingHours: openingHoursSchema.required(),
  services: services.default([]),
});

export const changeProfileSchema = Joi.object<ProfileChanges>({
  tradeName: text(120),
  legalName: text(200),
  phone,
  services,
  timeZone: Joi.string().max(64),
})
  .min(1)
  .messages({ 'object.min': 'send at least one of tradeName, legalName, phone, services, timeZone' });

export const openingHoursBodySchema = Joi.object<{ openingHours: OpeningInterval[] }>({
  openingHours: openingHoursSchema.required(),
});

export const relocationSchema = Joi.object<{ address: Address; location: GeoPoint }>({
  address: addressSchema.required(),
  location: locationSchema.required(),
});

function normaliseAddress(address: Address): Address {
  return { ...address, postalCode: normalisePostalCode(address.postalCode) };
}

const streamId = pharmacyStreamId;
const snapshots = PHARMACY_SNAPSHOTS;
/** A pharmacy's own staff (and admins) may change it; partners need pharmacies:write. */
const staffOfThisPharmacy = pharmacyStaff<{ id: string }>('pharmacies:write', ({ id }) => id);

export function pharmacyCommands(services: ServiceProvider) {
  return {
    register: commandHandler(services, {
      name: 'registerPharmacy',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: adminOnly(),
      bodySchema: registerSchema,
      identity: { kind: 'new', location: (id) => `/api/pharmacies/${id}` },
      toCommand: ({ id, body, now }) => ({
        type: 'RegisterPharmacy' as const,
        pharmacyId: id,
        profile: { ...body, phone: normalisePhone(body.phone)!, address: normaliseAddress(body.address) },
        now,
      }),
      reservations: (events) =>
        events.flatMap((event) => (event.type === 'PharmacyRegistered' ? [{ scope: 'cnpj', value: event.data.cnpj }] : [])),
    }),
    changeProfile: commandHandler(services, {
      name: 'changePharmacyProfile',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: staffOfThisPharmacy,
      bodySchema: changeProfileSchema,
      toCommand: ({ id, body, now }) => ({
        type: 'ChangePharmacyProfile' as const,
        pharmacyId: id,
        changes: body.phone ? { ...body, phone: normalisePhone(body.phone)! } : body,
        now,
      }),
    }),
    changeOpeningHours: commandHandler(services, {
      name: 'changeOpeningHours',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: staffOfThisPharmacy,
      bodySchema: openingHoursBodySchema,
      toCommand: ({ id, body, now }) => ({ type: 'ChangeOpeningHours' as const, pharmacyId: id, openingHours: body.openingHours, now }),
    }),
    relocate: commandHandler(services, {
      name: 'relocatePharmacy',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: staffOfThisPharmacy,
      bodySchema: relocationSchema,
      toCommand: ({ id, body, now }) => ({
        type: 'RelocatePharmacy' as const,
        pharmacyId: id,
        address: normaliseAddress(body.address),
        location: body.location,
        now,
      }),
    }),
    close: commandHandler(services, {
      name: 'closePharmacy',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: staffOfThisPharmacy,
      toCommand: ({ id, now }) => ({ type: 'ClosePharmacy' as const, pharmacyId: id, now }),
    }),
    reopen: commandHandler(services, {
      name: 'reopenPharmacy',
      decider: pharmacyDecider,
      streamId,
      snapshots,
      authorize: staffOfThisPharmacy,
      toCommand: ({ id, now }) => ({ type: 'ReopenPharmacy' as const, pharmacyId: id, now }),
    }),
  };
}

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Services } from '../kernel/services';
import { canonicalEmail } from './domain/email';
import type { SealedPersonalData } from './domain/user';

export interface PersonalData {
  email: string;
  name: string;
  cpf?: string;
  phone?: string;
}

const VERSION = 'v1';

function seal(key: Buffer, value: string, subject: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The subject as associated data: a value cannot be moved to another person's record.
  cipher.setAAD(Buffer.from(subject));
  const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return `${VERSION}.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${sealed.toString('base64url')}`;
}

function open(key: Buffer, value: string, subject: string): string {
  const [, iv, tag, sealed] = value.split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(subject));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
}

/** Seals each personal field with the subject's own data key (AES-256-GCM). */
export async function sealPersonalData(services: Services, subject: string, data: PersonalData): Promise<SealedPersonalData> {
  const key = await services.dataKeys.keyFor(subject);
  return {
    email: seal(key, data.email, subject),
    name: seal(key, data.name, subject),
    ...(data.cpf === undefined ? {} : { cpf: seal(key, data.cpf, subject) }),
    ...(data.phone === undefined ? {} : { phone: seal(key, data.phone, subject) }),
  };
}

/** The personal fields in clear, or undefined once the subject's key is destroyed (erased). */
export async function openPersonalData(services: Services, subject: string, sealed: SealedPersonalData): Promise<PersonalData | undefined> {
  const key = await services.dataKeys.find(subject);
  if (!key) return undefined;
  return {
    email: open(key, sealed.email, subject),
    name: open(key, sealed.name, subject),
    ...(sealed.cpf === undefined ? {} : { cpf: open(key, sealed.cpf, subject) }),
    ...(sealed.phone === undefined ? {} : { phone: open(key, sealed.phone, subject) }),
  };
}

/**
 * The password's scrypt hash as the events keep it: sealed with the person's data key, like
 * their personal fields (with its own associated data, so it cannot pass for one of them).
 * Erasure destroys the key, and with it every copy of the hash in the events, snapshots and
 * backups: nothing is left to crack offline.
 */
export async function sealPasswordHash(services: Services, subject: string, hash: string): Promise<string> {
  return seal(await services.dataKeys.keyFor(subject), hash, `${subject}:password`);
}

/** Whether a stored hash is one of the plain `scrypt$…` hashes of events written before sealing. */
export const isPlainPasswordHash = (stored: string) => stored.startsWith('scrypt$');

/**
 * The scrypt hash of a stored one. Events written before hashes were sealed hold it plain,
 * and are read as they are (an upcast, which the next login replaces with a sealed hash);
 * undefined once the person's key is destroyed.
 */
export async function openPasswordHash(services: Services, subject: string, stored: string): Promise<string | undefined> {
  if (isPlainPasswordHash(stored)) return stored;
  const key = await services.dataKeys.find(subject);
  return key ? open(key, stored, `${subject}:password`) : undefined;
}

/** NFC and lower case (see canonicalEmail): the NFC and NFD forms of one address are one account. */
export function normaliseEmail(email: string): string {
  return canonicalEmail(email);
}

/** A keyed hash of the e-mail: finds an account without storing its e-mail in clear. */
export function emailBlindIndex(services: Services, email: string): string {
  return createHmac('sha256', services.secrets.indexKey).update(normaliseEmail(email)).digest('base64url');
}

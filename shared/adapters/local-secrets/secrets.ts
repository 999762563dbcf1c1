import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Secrets, SigningKey } from '../../kernel/ports';

/** RFC 7638 thumbprint of an EC public key: a key id derived from the key itself. */
function thumbprint(jwk: Record<string, string>): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function newSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateJwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  return { kid: thumbprint(privateJwk), privateJwk };
}

interface SecretsFile {
  signingKeys: SigningKey[];
  masterKey: string;
  indexKey: string;
}

function fromFile(file: SecretsFile): Secrets {
  return { signingKeys: file.signingKeys, masterKey: Buffer.from(file.masterKey, 'base64'), indexKey: Buffer.from(file.indexKey, 'base64') };
}

/**
 * The local profile's secrets: made once (P-256 signing key, 256-bit master and index
 * keys) into a file only its owner can read, then reused, so tokens and sealed data
 * survive restarts.
 */
export function localSecrets(file: string): Secrets {
  if (existsSync(file)) return fromFile(JSON.parse(readFileSync(file, 'utf8')));
  const made: SecretsFile = {
    signingKeys: [newSigningKey()],
    masterKey: randomBytes(32).toString('base64'),
    indexKey: randomBytes(32).toString('base64'),
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(made, null, 2), { mode: 0o600, flag: 'wx' });
  return fromFile(made);
}

/** The signing keys of AUTH_SIGNING_KEYS, as the app accepts them (and a rotation must keep them). Names what is wrong, never a value. */
export function signingKeysFrom(signingKeys: string): SigningKey[] {
  let keys: SigningKey[];
  try {
    keys = JSON.parse(signingKeys);
  } catch {
    throw new Error('AUTH_SIGNING_KEYS is not JSON');
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => key?.kid && key.privateJwk?.d && key.privateJwk.crv === 'P-256')) {
    throw new Error('AUTH_SIGNING_KEYS must be a non-empty array of { kid, privateJwk } P-256 keys');
  }
  return keys;
}

/** Secrets given as settings (Key Vault references in Azure). Names what is wrong, never a value. */
export function settingsSecrets(signingKeys: string, masterKey: string, indexKey: string): Secrets {
  const keys = signingKeysFrom(signingKeys);
  const master = Buffer.from(masterKey, 'base64');
  const index = Buffer.from(indexKey, 'base64');
  if (master.length !== 32 || index.length !== 32) throw new Error('PERSONAL_DATA_MASTER_KEY and PERSONAL_DATA_INDEX_KEY must be 32 bytes');
  return { signingKeys: keys, masterKey: master, indexKey: index };
}

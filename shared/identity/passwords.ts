import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost: N (CPU and memory, a power of two), r (block size), p (parallelism). */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * OWASP's minimum for scrypt (Password Storage Cheat Sheet): N=2^17, r=8, p=1, which takes
 * 128 MiB and four times the work of the 2^15 used before. PASSWORD_SCRYPT_LOG2_N may only lower
 * it outside Azure (tests); a stored hash of a lower cost is replaced at its next login.
 */
export const OWASP_MINIMUM: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const KEY_LENGTH = 32;

/** The cost the settings ask for: N = 2^PASSWORD_SCRYPT_LOG2_N (17 unless lowered for tests), r=8, p=1. */
export function scryptCost(log2N: number = 17): ScryptCost {
  return { ...OWASP_MINIMUM, N: 2 ** log2N };
}

function derive(password: string, salt: Buffer, options: ScryptOptions & ScryptCost): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is below N=2^17, so raise it to twice the need.
  const maxmem = 2 * 128 * options.N * options.r;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, all the verification needs, parameters included for later upgrades. */
export async function hashPassword(password: string, cost: ScryptCost = OWASP_MINIMUM): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

function parametersOf(stored: string): ScryptCost | undefined {
  const [scheme, N, r, p] = stored.split('$');
  if (scheme !== 'scrypt') return undefined;
  const cost = { N: Number(N), r: Number(r), p: Number(p) };
  // Refuse what no hash of ours holds: a tampered record must not make a login allocate gigabytes.
  const sane = Number.isInteger(Math.log2(cost.N)) && cost.N >= 2 ** 10 && cost.N <= 2 ** 20 && cost.r >= 1 && cost.r <= 32 && cost.p >= 1 && cost.p <= 16;
  return sane ? cost : undefined;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const cost = parametersOf(stored);
  if (!cost) return false;
  const [, , , , salt, hash] = stored.split('$');
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), cost);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Whether a stored hash is cheaper than `cost` (made before the cost was raised): rehash it at login. */
export function needsRehash(stored: string, cost: ScryptCost = OWASP_MINIMUM): boolean {
  const current = parametersOf(stored);
  return !current || current.N * current.r * current.p < cost.N * cost.r * cost.p;
}

/** A hash to verify against when there is no account, so that the answer takes as long either way. */
const decoys = new Map<number, Promise<string>>();
export function decoyHash(cost: ScryptCost = OWASP_MINIMUM): Promise<string> {
  let decoy = decoys.get(cost.N);
  if (!decoy) {
    decoy = hashPassword(randomBytes(16).toString('base64'), cost);
    decoys.set(cost.N, decoy);
  }
  return decoy;
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { loadJose } from '../kernel/auth';
import type { Services } from '../kernel/services';

export interface TokenClaims {
  subject: string;
  roles: string[];
  scopes: string[];
  pharmacyIds: string[];
  clientId?: string;
  /** The subject's revision at issue (`ver`): a later loss of powers revokes the token. */
  version?: number;
}

/**
 * The most pharmacies an access token may name: it names each (52 bytes apiece in base64url),
 * and a partner or a pharmacist sends it in the Authorization header, which must fit with
 * the rest of the request line and headers in 16 KB (the local host's Node default; Azure's
 * front ends and API Management accept about as much). 200 make a token of 11 KB, which
 * leaves the other headers (the front ends' own among them) some 5 KB.
 */
export const MOST_PHARMACIES_IN_A_TOKEN = 200;

const signingKeys = new WeakMap<object, ReturnType<typeof importSigningKey>>();

async function importSigningKey(privateJwk: Record<string, string>) {
  const { importJWK } = await loadJose();
  return importJWK({ ...privateJwk, kty: 'EC' }, 'ES256');
}

/** A short-lived ES256 access token, signed with the newest key and naming it in `kid`. */
export async function issueAccessToken(services: Services, claims: TokenClaims): Promise<string> {
  const { SignJWT } = await loadJose();
  const [current] = services.secrets.signingKeys;
  if (!signingKeys.has(current)) signingKeys.set(current, importSigningKey(current.privateJwk));
  const key = await signingKeys.get(current)!;
  return new SignJWT({
    roles: claims.roles,
    scope: claims.scopes.join(' '),
    ...(claims.pharmacyIds.length ? { pharmacyIds: claims.pharmacyIds } : {}),
    ...(claims.clientId ? { client_id: claims.clientId } : {}),
    ...(claims.version !== undefined ? { ver: claims.version } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
    .setIssuer(services.settings.auth.issuer)
    .setAudience(services.settings.auth.audience)
    .setSubject(claims.subject)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${services.settings.auth.accessTokenSeconds}s`)
    .sign(key);
}

/**
 * Refresh tokens are opaque: `<family id>.<256 random bits>`. Only a SHA-256 of the secret
 * is stored (the secret has full entropy, so a fast hash is enough).
 */
export function newRefreshToken(familyId: string): { token: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${familyId}.${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function parseRefreshToken(token: string): { familyId: string; hash: string } | undefined {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { familyId: match[1], hash: hashSecret(match[2]) } : undefined;
}

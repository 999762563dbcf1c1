import type { HttpRequest } from '@azure/functions';
import { Unauthorized } from './errors';
import type { Services } from './services';

/** Who is calling, as the access token says. */
export interface Principal {
  subject: string;
  kind: 'user' | 'client';
  roles: string[];
  scopes: string[];
  pharmacyIds: string[];
}

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
/** jose loads on the first token, not at start-up. */
export const loadJose = () => (jose ??= import('jose'));

/** The public keys that verify tokens (JWKS), from the signing keys: two during a rotation. */
export function publicJwks(services: Services) {
  return {
    keys: services.secrets.signingKeys.map(({ kid, privateJwk }) => ({
      kty: privateJwk.kty,
      crv: privateJwk.crv,
      x: privateJwk.x,
      y: privateJwk.y,
      kid,
      use: 'sig',
      alg: 'ES256',
    })),
  };
}

/**
 * Verifies a bearer token: ES256 only (so `alg: none` and HMAC tricks fail), a known `kid`,
 * our issuer and audience, within its lifetime. Anything else is a 401.
 */
export async function authenticate(request: HttpRequest, services: Services): Promise<Principal> {
  const header = request.headers.get('authorization');
  if (!header) throw new Unauthorized('send an access token: Authorization: Bearer <token>', undefined);
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header.trim());
  if (!match) throw new Unauthorized('the Authorization header is not a bearer token', 'invalid_request');
  const { jwtVerify, importJWK, errors } = await loadJose();
  const keys = publicJwks(services).keys;
  try {
    const { payload } = await jwtVerify(
      match[1],
      async (header) => {
        const key = keys.find((candidate) => candidate.kid === header.kid);
        if (!key) throw new errors.JWKSNoMatchingKey();
        return importJWK(key, 'ES256');
      },
      { issuer: services.settings.auth.issuer, audience: services.settings.auth.audience, algorithms: ['ES256'], clockTolerance: 5 },
    );
    if (typeof payload.sub !== 'string') throw new Error('no subject');
    const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
    return {
      subject: payload.sub,
      kind: payload.client_id ? 'client' : 'user',
      roles: list(payload.roles),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      pharmacyIds: list(payload.pharmacyIds),
    };
  } catch {
    // One answer for every failure: which check failed is not the caller's business.
    throw new Unauthorized('the access token is not valid');
  }
}

import type { HttpRequest } from '@azure/functions';
import { Unauthorized } from './errors';
import type { Services } from './services';
import { approximateSize } from './size';
import { WeightedLru } from './weighted-lru';

/** Who is calling, as the access token says. */
export interface Principal {
  subject: string;
  kind: 'user' | 'client';
  roles: string[];
  scopes: string[];
  pharmacyIds: string[];
  /** The subject's revision the token was issued at (`ver`): see `checkRevocationWith`. */
  version?: number;
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

type KeyLike = Awaited<ReturnType<Jose['importJWK']>>;
const verificationKeys = new WeakMap<object, Map<string, Promise<KeyLike | undefined>>>();

/** The imported public key of a `kid`, imported once per key set: every command verifies one. */
function verificationKey(services: Services, kid: string): Promise<KeyLike | undefined> {
  let byKid = verificationKeys.get(services.secrets);
  if (!byKid) {
    byKid = new Map();
    verificationKeys.set(services.secrets, byKid);
  }
  let key = byKid.get(kid);
  if (!key) {
    const jwk = publicJwks(services).keys.find((candidate) => candidate.kid === kid);
    key = jwk ? loadJose().then(({ importJWK }) => importJWK(jwk, 'ES256')) : Promise.resolve(undefined);
    // Unknown kids are not remembered: a forger must not fill the map.
    if (jwk) byKid.set(kid, key);
  }
  return key;
}

/**
 * Tokens verified already, by their exact text, until their `exp`: an ES256 verification
 * costs a command about a sixth of its CPU here, and a client sends the same token with
 * every request for its whole life. Only a token that passed every check gets in, so a
 * forger cannot fill it; any other text (a changed claim or signature is another text)
 * goes through the full verification. Kept per key set and per issuer and audience: a
 * rotated key set starts empty. The revocation check still runs on every request.
 */
const verifiedTokens = new WeakMap<Services['secrets'], WeakMap<Services['settings']['auth'], VerifiedTokens>>();
/** Enough for every token in use on an instance. */
const MOST_VERIFIED_TOKENS = 10_000;
/**
 * The weight bound as well as the count: an entry holds the token's text (up to the
 * header limit) and its principal (a partner may act for many pharmacies), so 10 000 of
 * the heaviest would hold hundreds of MB. 8 MB keeps some 8 000 of a customer's tokens
 * (under 1 KB each with its principal), or 300 of the heaviest a 16 KB header can carry.
 */
export const VERIFIED_TOKENS_BYTES = 8 * 1024 * 1024;

/** What a test may read of the memo: how much it holds, and whether it holds a token. */
export interface VerifiedTokenMemo {
  readonly size: number;
  readonly weight: number;
  holds(token: string): boolean;
}

/**
 * The memo of one key set and issuer: least recently used out first once past the count
 * or the weight; a token heavier than a sixty-fourth of the weight is not kept at all (it
 * is verified each time), so that one entry never pushes out a crowd of others.
 */
class VerifiedTokens implements VerifiedTokenMemo {
  private readonly tokens = new WeightedLru<{ principal: Principal; expiresAtMs: number }>(VERIFIED_TOKENS_BYTES, VERIFIED_TOKENS_BYTES / 64, MOST_VERIFIED_TOKENS);

  /** The principal of a remembered token still within its `exp`; an expired one is dropped. */
  principalOf(token: string): Principal | undefined {
    const entry = this.tokens.get(token);
    if (!entry) return undefined;
    if (Date.now() < entry.expiresAtMs) return entry.principal;
    this.tokens.delete(token);
    return undefined;
  }

  remember(token: string, principal: Principal, expiresAtMs: number): void {
    this.tokens.set(token, { principal, expiresAtMs }, token.length + approximateSize(principal) + 64);
  }

  holds(token: string): boolean {
    return this.tokens.has(token);
  }

  get size(): number {
    return this.tokens.size;
  }

  /** The estimated bytes of the kept tokens and principals. */
  get weight(): number {
    return this.tokens.weight;
  }
}

/** The memo of the services' key set and issuer and audience. */
export function verifiedTokensOf(services: Services): VerifiedTokenMemo {
  return memoOf(services);
}

function memoOf(services: Services): VerifiedTokens {
  let bySettings = verifiedTokens.get(services.secrets);
  if (!bySettings) verifiedTokens.set(services.secrets, (bySettings = new WeakMap()));
  let tokens = bySettings.get(services.settings.auth);
  if (!tokens) bySettings.set(services.settings.auth, (tokens = new VerifiedTokens()));
  return tokens;
}

/** A verified token's principal while the token lasts (jose's clock tolerance not granted: past `exp` it is verified again, and refused). */
function rememberedPrincipal(services: Services, token: string): Principal | undefined {
  const principal = memoOf(services).principalOf(token);
  return principal && copyOf(principal);
}

function remember(services: Services, token: string, principal: Principal, exp: number) {
  memoOf(services).remember(token, copyOf(principal), exp * 1000);
}

/** Each request its own principal: what one handler does to it never reaches another. */
function copyOf(principal: Principal): Principal {
  return { ...principal, roles: [...principal.roles], scopes: [...principal.scopes], pharmacyIds: [...principal.pharmacyIds] };
}

/**
 * Verifies a bearer token: ES256 only (so `alg: none` and HMAC tricks fail), a known `kid`,
 * `typ: at+jwt`, our issuer and audience, an `exp` and within it. Anything else is a 401.
 */
async function verifyAccessToken(request: HttpRequest, services: Services): Promise<Principal> {
  const header = request.headers.get('authorization');
  // No bearer credentials (none, or another scheme): a bare challenge; a bearer token that is no JWT: invalid_token.
  if (!header || !/^Bearer(\s|$)/i.test(header.trim())) throw new Unauthorized('send an access token: Authorization: Bearer <token>', null);
  const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
  if (!match) throw new Unauthorized('the access token is not valid');
  const remembered = rememberedPrincipal(services, match[1]);
  if (remembered) return remembered;
  const { jwtVerify, errors } = await loadJose();
  try {
    const { payload } = await jwtVerify(
      match[1],
      async (header) => {
        const key = header.kid ? await verificationKey(services, header.kid) : undefined;
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      {
        issuer: services.settings.auth.issuer,
        audience: services.settings.auth.audience,
        algorithms: ['ES256'],
        clockTolerance: 5,
        // An access token (RFC 9068), never an ID token or another JWT signed with the same key,
        // and never one without an end: jose checks `exp` only when it is present.
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub'],
      },
    );
    if (typeof payload.sub !== 'string') throw new Error('no subject');
    const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
    const principal: Principal = {
      subject: payload.sub,
      kind: payload.client_id ? 'client' : 'user',
      roles: list(payload.roles),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      pharmacyIds: list(payload.pharmacyIds),
      ...(typeof payload.ver === 'number' ? { version: payload.ver } : {}),
    };
    remember(services, match[1], principal, payload.exp!);
    return copyOf(principal);
  } catch {
    // One answer for every failure: which check failed is not the caller's business.
    throw new Unauthorized('the access token is not valid');
  }
}

/**
 * Whether a verified token's subject still holds what the token grants (not erased, not
 * demoted, not a disabled client). The identity context registers it; it answers from the
 * cache, the event store being the source of truth behind it.
 */
export type RevocationCheck = (services: Services, principal: Principal) => Promise<boolean>;
let revocationCheck: RevocationCheck | undefined;

export function checkRevocationWith(check: RevocationCheck): void {
  revocationCheck = check;
}

/** A valid token (see verifyAccessToken) whose powers were not taken back since it was issued. */
export async function authenticate(request: HttpRequest, services: Services): Promise<Principal> {
  const principal = await verifyAccessToken(request, services);
  if (revocationCheck && (await revocationCheck(services, principal))) throw new Unauthorized('the access token is not valid');
  return principal;
}

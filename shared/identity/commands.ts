import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { HttpHandler, HttpRequest, InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { authenticate, publicJwks, type Principal } from '../kernel/auth';
import { clientAddressOf } from '../kernel/client-address';
import { triedBasicAuthentication, withOAuthErrors } from './oauth-errors';
import { adminOnly } from '../kernel/policies';
import { commandHandler, loadAggregate, metadataOf, runCommand, type CommandSpec, type SnapshotPolicy } from '../kernel/command';
import { ConcurrencyConflict, Forbidden, NotFound, OAuthError, TooManyRequests, Unauthorized, UnsupportedMediaType } from '../kernel/errors';
import { uuidSchema } from '../kernel/command';
import { jsonResponse, readBodyText, readJsonBody, validate, withProblemDetails } from '../kernel/http';
import type { EventMetadata } from '../kernel/ports';
import { phoneSchema, text } from '../kernel/schemas';
import type { ServiceProvider, Services } from '../kernel/services';
import { normalisePhone } from '../kernel/brazil';
import { isValidCpf, normaliseCpf } from './domain/cpf';
import { passwordWeakness } from './domain/password-policy';
import { sessionDecider, type Session, type SessionCommand, type SessionEvent } from './domain/session';
import { CLIENT_SCOPES, clientDecider, type Client, type ClientCommand, type ClientEvent } from './domain/client';
import { ROLES, userDecider, type Role, type SealedPersonalData, type User, type UserCommand, type UserEvent } from './domain/user';
import { decoyHash, hashPassword, verifyPassword } from './passwords';
import { hashSecret, issueAccessToken, newRefreshToken, parseRefreshToken } from './tokens';
import { emailBlindIndex, normaliseEmail, openPersonalData, sealPersonalData } from './vault';

export const userStreamId = (id: string) => `user-${id}`;
const sessionStreamId = (id: string) => `session-${id}`;
const USER_SNAPSHOTS: SnapshotPolicy = { schema: 'user-v1', every: 50 };
const SESSION_SNAPSHOTS: SnapshotPolicy = { schema: 'session-v1', every: 50 };
const DAY_MS = 86_400_000;

interface Registration {
  email: string;
  password: string;
  name: string;
  cpf?: string;
  phone?: string;
}

export const registerSchema = Joi.object<Registration>({
  email: Joi.string().email({ tlds: false }).max(254).required(),
  password: Joi.string()
    .max(256)
    .custom((value: string, helpers) => {
      const weakness = passwordWeakness(value);
      return weakness ? helpers.message({ custom: `password: ${weakness}` }) : value;
    })
    .required(),
  name: text(200).required(),
  cpf: Joi.string()
    .max(14)
    .custom((value: string, helpers) => (isValidCpf(value) ? value : helpers.error('cpf.invalid')))
    .messages({ 'cpf.invalid': 'cpf must be a valid CPF with matching check digits' }),
  phone: phoneSchema,
});

interface SealedRegistration {
  emailIndex: string;
  personal: SealedPersonalData;
  passwordHash: string;
}

const registerSpec: CommandSpec<Registration, UserCommand, UserEvent, User, SealedRegistration> = {
  name: 'registerUser',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  bodySchema: registerSchema,
  identity: { kind: 'new', location: () => '/api/auth/me' },
  // Personal fields are sealed before they reach the decider: nothing in clear is ever appended.
  facts: async (services, body, id) => ({
    emailIndex: emailBlindIndex(services, body.email),
    passwordHash: await hashPassword(body.password),
    personal: await sealPersonalData(services, id, {
      email: normaliseEmail(body.email),
      name: body.name,
      ...(body.cpf ? { cpf: normaliseCpf(body.cpf) } : {}),
      ...(body.phone ? { phone: normalisePhone(body.phone)! } : {}),
    }),
  }),
  toCommand: ({ id, now, facts }) => ({ type: 'RegisterUser', userId: id, personal: facts.personal, passwordHash: facts.passwordHash, now }),
  reservations: (events, facts) => (events.some((event) => event.type === 'UserRegistered') ? [{ scope: 'email', value: facts.emailIndex }] : []),
};

const assignRolesSchema = Joi.object<{ roles: Role[]; pharmacyIds: string[] }>({
  roles: Joi.array().items(Joi.string().valid(...ROLES)).min(1).unique().required(),
  pharmacyIds: Joi.array().items(uuidSchema).max(500).unique().default([]),
});

export const assignRolesSpec: CommandSpec<{ roles: Role[]; pharmacyIds: string[] }, UserCommand, UserEvent, User, undefined> = {
  name: 'assignRoles',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  bodySchema: assignRolesSchema,
  authorize: adminOnly(),
  toCommand: ({ id, body, now }) => ({ type: 'AssignRoles', userId: id, roles: body.roles, pharmacyIds: body.pharmacyIds.map((p) => p.toLowerCase()), now }),
};

const clientStreamId = (id: string) => `client-${id}`;
const CLIENT_SNAPSHOTS: SnapshotPolicy = { schema: 'client-v1', every: 50 };
const registerClientSchema = Joi.object<{ name: string; scopes: string[]; pharmacyIds: string[] }>({
  name: text(120).required(),
  scopes: Joi.array().items(Joi.string().valid(...CLIENT_SCOPES)).min(1).unique().required(),
  pharmacyIds: Joi.array().items(uuidSchema).min(1).max(5000).unique().required(),
});

const registerClientSpec: CommandSpec<{ name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string }, ClientCommand, ClientEvent, Client, undefined> = {
  name: 'registerClient',
  decider: clientDecider,
  streamId: clientStreamId,
  snapshots: CLIENT_SNAPSHOTS,
  identity: { kind: 'new', location: () => '/api/auth/jwks' },
  authorize: adminOnly(),
  toCommand: ({ id, body, now }) => ({ type: 'RegisterClient', clientId: id, ...body, pharmacyIds: body.pharmacyIds.map((p) => p.toLowerCase()), now }),
};

type SessionSpec<Body> = CommandSpec<Body, SessionCommand, SessionEvent, Session, undefined>;

const SESSIONS_BY_SUBJECT = 'sessions-by-subject';

const startSessionSpec: SessionSpec<{ familyId: string; subject: string; tokenHash: string; expiresAt: Date }> = {
  name: 'startSession',
  decider: sessionDecider,
  streamId: sessionStreamId,
  snapshots: SESSION_SNAPSHOTS,
  identity: { kind: 'from-body', id: (body) => body.familyId, location: () => '/api/auth/me' },
  toCommand: ({ body, now }) => ({ type: 'StartSession', ...body, now }),
  indexes: (events) => events.flatMap((event) => (event.type === 'SessionStarted' ? [{ name: SESSIONS_BY_SUBJECT, key: event.data.subject }] : [])),
};

/** The person themself, or an administrator. */
const selfOrAdmin = (principal: Principal, { id }: { id: string }) => {
  if (principal.kind === 'user' && principal.subject === id) return;
  adminOnly()(principal, undefined);
};

/**
 * Erasure: the account's event says so without any personal data, the e-mail's blind
 * index is released in the same transaction, and then the data key is destroyed, which
 * leaves every sealed field of this person unreadable wherever a copy of it lies.
 */
const eraseSpec: CommandSpec<undefined, UserCommand, UserEvent, User, { emailIndex?: string }> = {
  name: 'eraseUser',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  authorize: selfOrAdmin,
  facts: async (services, _body, id) => {
    const user = await loadUser(services, id);
    const personal = user.status === 'active' ? await openPersonalData(services, id, user.personal) : undefined;
    return personal ? { emailIndex: emailBlindIndex(services, personal.email) } : {};
  },
  toCommand: ({ id, now }) => ({ type: 'EraseUser', userId: id, now }),
  releases: (events, facts) => (events.some((event) => event.type === 'UserErased') && facts.emailIndex ? [{ scope: 'email', value: facts.emailIndex }] : []),
  // The person's idempotency records (their registration's included) go in the same transaction.
  erases: (events) => events.flatMap((event) => (event.type === 'UserErased' ? [event.data.userId] : [])),
};

const refreshSessionSpec: SessionSpec<{ presentedHash: string; newHash: string; expiresAt: Date; subjectActive: boolean }> = {
  name: 'refreshSession',
  decider: sessionDecider,
  streamId: sessionStreamId,
  snapshots: SESSION_SNAPSHOTS,
  toCommand: ({ body, now }) => ({ type: 'RefreshSession', ...body, now }),
};

const revokeSessionSpec: SessionSpec<{ presentedHash: string }> = {
  name: 'revokeSession',
  decider: sessionDecider,
  streamId: sessionStreamId,
  snapshots: SESSION_SNAPSHOTS,
  toCommand: ({ body, now }) => ({ type: 'RevokeSession', presentedHash: body.presentedHash, now }),
};

/** A public client (a first-party app) names itself (RFC 6749 §3.2.1), as OAuth libraries do; nothing is granted by it. */
const publicClientId = Joi.string().max(100);
const passwordGrant = Joi.object({
  grant_type: Joi.string().valid('password').required(),
  username: Joi.string().max(254).required(),
  password: Joi.string().max(256).required(),
  scope: Joi.string().max(500),
  client_id: publicClientId,
});
const refreshGrant = Joi.object({
  grant_type: Joi.string().valid('refresh_token').required(),
  refresh_token: Joi.string().max(200).required(),
  scope: Joi.string().max(500),
  client_id: publicClientId,
});
const clientGrant = Joi.object({
  grant_type: Joi.string().valid('client_credentials').required(),
  client_id: Joi.string().max(100),
  client_secret: Joi.string().max(200),
  scope: Joi.string().max(500),
});
const grantType = Joi.object({ grant_type: Joi.string().max(100).required() }).unknown(true);
const revokeSchema = Joi.object({
  token: Joi.string().max(4096).required(),
  token_type_hint: Joi.string().valid('access_token', 'refresh_token'),
  // Libraries send their client's credentials; revoking needs none (the token is the proof).
  client_id: publicClientId,
  client_secret: Joi.string().max(200),
});

/** OAuth endpoints take form-encoded bodies (RFC 6749) and, for convenience, JSON objects. */
async function readForm(request: HttpRequest): Promise<Record<string, unknown>> {
  const contentType = request.headers.get('content-type') ?? '';
  const form = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType);
  if (!form && !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaType('send application/x-www-form-urlencoded or application/json');
  }
  const body = await readBodyText(request);
  if (form) {
    const fields: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(body)) {
      // RFC 6749 §3.1: a parameter sent without a value is omitted, and none may be sent twice.
      if (value === '') continue;
      if (name in fields) throw new OAuthError(400, 'invalid_request', `${name.slice(0, 40)} is sent more than once`);
      fields[name] = value;
    }
    return fields;
  }
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* answered below */
  }
  throw new OAuthError(400, 'invalid_request', 'the body is not a JSON object');
}

/** Token-request validation answers in OAuth's terms (invalid_request), not as a plain 400. */
function validateGrant<T>(schema: Joi.Schema<T>, form: Record<string, unknown>): T {
  const { value, error } = schema.validate(form, { abortEarly: true, convert: false });
  if (error) throw new OAuthError(400, 'invalid_request', error.details[0].message.replace(/"/g, ''));
  return value;
}

async function loadUser(services: Services, userId: string): Promise<User> {
  return (await loadAggregate(services.eventStore, userDecider, USER_SNAPSHOTS, userStreamId(userId))).state;
}

/** The permissions a user's roles grant, named once here; the APIs check scopes and roles. */
function scopesOf(roles: string[]): string[] {
  const scopes = new Set<string>();
  if (roles.includes('admin')) ['catalog:write', 'offers:write', 'pharmacies:write', 'users:admin'].forEach((s) => scopes.add(s));
  if (roles.includes('pharmacist')) ['offers:write', 'pharmacies:write'].forEach((s) => scopes.add(s));
  if (roles.includes('catalog-editor')) scopes.add('catalog:write');
  return [...scopes].sort();
}

/** The caller's address as the platform states it (API Management, or the local host from the socket); never X-Forwarded-For. */
function clientAddress(request: HttpRequest): string {
  return clientAddressOf(request);
}

const failureKeys = (services: Services, email: string, request: HttpRequest) => ({
  account: `login-failures:account:${emailBlindIndex(services, email)}`,
  address: `login-failures:address:${clientAddress(request)}`,
});

/** Refuses before any password is checked once an account or an address failed too often. */
async function refuseIfThrottled(services: Services, keys: { account: string; address: string }) {
  const { maxFailuresPerAccount, maxFailuresPerAddress } = services.settings.auth;
  for (const [key, limit] of [
    [keys.account, maxFailuresPerAccount],
    [keys.address, maxFailuresPerAddress],
  ] as const) {
    const window = await services.cache.peekWindow(key);
    if (window && window.count >= limit) {
      throw new TooManyRequests('too many failed logins; try again later', window.resetsInSeconds);
    }
  }
}

async function grantTokens(
  services: Services,
  user: Extract<User, { status: 'active' }>,
  refreshToken: string,
) {
  const scopes = scopesOf(user.roles);
  const accessToken = await issueAccessToken(services, { subject: user.id, roles: user.roles, scopes, pharmacyIds: user.pharmacyIds });
  return jsonResponse(
    200,
    { access_token: accessToken, token_type: 'Bearer', expires_in: services.settings.auth.accessTokenSeconds, refresh_token: refreshToken, scope: scopes.join(' ') },
    // RFC 6749 §5.1: tokens are never cached.
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

async function passwordLogin(services: Services, request: HttpRequest, context: InvocationContext, form: Record<string, unknown>) {
  const { username, password } = validateGrant(passwordGrant, form);
  const keys = failureKeys(services, username, request);
  await refuseIfThrottled(services, keys);
  const streamId = await services.eventStore.findReservation('email', emailBlindIndex(services, username));
  const user = streamId ? await loadUser(services, streamId.slice(userStreamId('').length)) : undefined;
  // An unknown account costs the same scrypt as a known one: timing tells nothing.
  const hash = user?.status === 'active' ? user.passwordHash : await decoyHash();
  const valid = (await verifyPassword(password, hash)) && user?.status === 'active';
  if (!valid || user?.status !== 'active') {
    const window = services.settings.auth.failureWindowSeconds;
    await Promise.all([services.cache.incrementWithin(keys.account, window), services.cache.incrementWithin(keys.address, window)]);
    throw new OAuthError(400, 'invalid_grant', 'the e-mail or the password is wrong');
  }
  await services.cache.resetWindow(keys.account);
  const familyId = randomUUID();
  const refresh = newRefreshToken(familyId);
  const expiresAt = new Date(services.clock.now().getTime() + services.settings.auth.refreshTokenDays * DAY_MS);
  await runCommand(services, startSessionSpec, {
    body: { familyId, subject: user.id, tokenHash: refresh.hash, expiresAt },
    metadata: metadataOf(request, context, user.id),
    context,
  });
  return grantTokens(services, user, refresh.token);
}

async function refreshLogin(services: Services, request: HttpRequest, context: InvocationContext, form: Record<string, unknown>) {
  const { refresh_token: presented } = validateGrant(refreshGrant, form);
  const invalid = () => new OAuthError(400, 'invalid_grant', 'the refresh token is not valid');
  const parsed = parseRefreshToken(presented);
  if (!parsed) throw invalid();
  const session = (await loadAggregate(services.eventStore, sessionDecider, SESSION_SNAPSHOTS, sessionStreamId(parsed.familyId))).state;
  if (session.status === 'none') throw invalid();
  const user = await loadUser(services, session.subject);
  const next = newRefreshToken(parsed.familyId);
  const expiresAt = new Date(services.clock.now().getTime() + services.settings.auth.refreshTokenDays * DAY_MS);
  let outcome;
  try {
    outcome = await runCommand(services, refreshSessionSpec, {
      id: parsed.familyId,
      body: { presentedHash: parsed.hash, newHash: next.hash, expiresAt, subjectActive: user.status === 'active' },
      metadata: metadataOf(request, context, session.subject),
      context,
    });
  } catch (error) {
    // Two refreshes with one token at once: the loser is told no, as a reuse would be.
    if (error instanceof ConcurrencyConflict) throw invalid();
    throw error;
  }
  // Anything but a rotation (a reused token revoking the family, an expired or revoked one) is a refusal.
  if (outcome.events?.[0]?.type !== 'SessionRefreshed' || user.status !== 'active') throw invalid();
  return grantTokens(services, user, next.token);
}

/**
 * Partner credentials from HTTP Basic (RFC 6749 §2.3.1: each part form-encoded, then
 * base64) or the form, never both. Basic credentials that do not decode (no colon, a
 * malformed %-escape) are wrong credentials: the caller then gets invalid_client and a
 * counted failure, as for a wrong secret.
 */
function clientCredentials(request: HttpRequest, form: { client_id?: string; client_secret?: string }) {
  if (!triedBasicAuthentication(request)) return { id: form.client_id ?? '', secret: form.client_secret ?? '' };
  if (form.client_secret !== undefined) throw new OAuthError(400, 'invalid_request', 'authenticate the client one way: HTTP Basic or client_secret in the body');
  const wrong = { id: '', secret: '' };
  const basic = /^Basic +([A-Za-z0-9+/]+={0,2})$/i.exec(request.headers.get('authorization')!.trim());
  const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) return wrong;
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return wrong;
  }
}

async function clientLogin(services: Services, request: HttpRequest, form: Record<string, unknown>) {
  const grant = validateGrant(clientGrant, form);
  const address = `login-failures:address:${clientAddress(request)}`;
  const window = await services.cache.peekWindow(address);
  if (window && window.count >= services.settings.auth.maxFailuresPerAddress) {
    throw new TooManyRequests('too many failed logins; try again later', window.resetsInSeconds);
  }
  const credentials = clientCredentials(request, grant);
  const known = uuidSchema.validate(credentials.id).error === undefined;
  const client = known
    ? (await loadAggregate(services.eventStore, clientDecider, CLIENT_SNAPSHOTS, clientStreamId(credentials.id.toLowerCase()))).state
    : undefined;
  const presented = Buffer.from(hashSecret(credentials.secret));
  const expected = Buffer.from(client?.status === 'active' ? client.secretHash : hashSecret(randomUUID()));
  if (client?.status !== 'active' || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    await services.cache.incrementWithin(address, services.settings.auth.failureWindowSeconds);
    throw new OAuthError(401, 'invalid_client', 'the client credentials are wrong');
  }
  const requested = grant.scope ? grant.scope.split(' ').filter(Boolean) : client.scopes;
  if (requested.some((scope: string) => !client.scopes.includes(scope))) throw new OAuthError(400, 'invalid_scope', 'a requested scope is not granted to this client');
  const accessToken = await issueAccessToken(services, {
    subject: client.id,
    clientId: client.id,
    roles: [],
    scopes: requested,
    pharmacyIds: client.pharmacyIds,
  });
  return jsonResponse(
    200,
    { access_token: accessToken, token_type: 'Bearer', expires_in: services.settings.auth.accessTokenSeconds, scope: requested.join(' ') },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

/**
 * The first administrator, from settings at start-up (BOOTSTRAP_ADMIN_EMAIL and
 * BOOTSTRAP_ADMIN_PASSWORD): made once, given the admin role, left alone afterwards.
 */
export async function ensureAdministrator(services: Services, email: string, password: string, context: InvocationContext): Promise<string> {
  const metadata: EventMetadata = { correlationId: 'bootstrap', actor: 'system:bootstrap' };
  const existing = await services.eventStore.findReservation('email', emailBlindIndex(services, email));
  const userId =
    existing?.slice(userStreamId('').length) ??
    (await runCommand(services, registerSpec, { body: validate(registerSchema, { email, password, name: 'Administrator' }, 'body'), metadata, context })).body.id;
  const user = await loadUser(services, userId);
  if (user.status === 'active' && !user.roles.includes('admin')) {
    await runCommand(services, assignRolesSpec, { id: userId, body: { roles: [...user.roles, 'admin' as const], pharmacyIds: user.pharmacyIds }, principal: 'system', metadata, context });
  }
  return userId;
}

/** The caller's own account with its personal fields opened; 401 when the token is no (longer a) person. */
async function callerAccount(services: Services, request: HttpRequest) {
  const principal = await authenticate(request, services);
  const user = principal.kind === 'user' ? await loadUser(services, principal.subject) : undefined;
  const personal = user?.status === 'active' ? await openPersonalData(services, user.id, user.personal) : undefined;
  if (user?.status !== 'active' || !personal) throw new Unauthorized('the account behind this token no longer exists');
  return { user, personal };
}

async function erase(services: Services, id: string, request: HttpRequest, context: InvocationContext) {
  const principal = await authenticate(request, services);
  const result = await runCommand(services, eraseSpec, {
    id,
    body: undefined,
    principal,
    metadata: metadataOf(request, context, principal.subject),
    context,
  });
  // Also when the event was written by an earlier attempt that died before this line.
  await services.dataKeys.destroy(id);
  return jsonResponse(200, result.body, { 'cache-control': 'no-store' });
}

export function identityHandlers(
  services: ServiceProvider,
): Record<'register' | 'token' | 'revoke' | 'me' | 'jwks' | 'openIdConfiguration' | 'assignRoles' | 'registerClient' | 'myData' | 'eraseMe' | 'eraseUser', HttpHandler> {
  return {
    eraseMe: withProblemDetails(async (request, context) => {
      const s = await services();
      const principal = await authenticate(request, s);
      if (principal.kind !== 'user') throw new Forbidden('a partner client has no personal account to erase');
      return erase(s, principal.subject, request, context);
    }),

    eraseUser: withProblemDetails(async (request, context) => erase(await services(), validate(uuidSchema, request.params.id, 'path'), request, context)),

    /** LGPD right of access: everything held about the caller, personal fields opened. */
    myData: withProblemDetails(async (request) => {
      const s = await services();
      const { user, personal } = await callerAccount(s, request);
      const sessions = await Promise.all(
        (await s.eventStore.readIndex(SESSIONS_BY_SUBJECT, user.id)).map(async (streamId) => {
          const session = (await loadAggregate(s.eventStore, sessionDecider, SESSION_SNAPSHOTS, streamId)).state;
          return session.status === 'none' ? undefined : { id: session.familyId, status: session.status, expiresAt: session.expiresAt, rotations: session.usedHashes.length };
        }),
      );
      const events = await s.eventStore.readStream(userStreamId(user.id));
      return jsonResponse(
        200,
        {
          account: { id: user.id, ...personal, roles: user.roles, pharmacyIds: user.pharmacyIds },
          sessions: sessions.filter(Boolean),
          history: events.map(({ type, occurredAt, version, metadata }) => ({ type, occurredAt, version, actor: metadata.actor ?? null })),
          storage: 'personal fields are stored encrypted with a key of your own; erasing your account destroys that key',
        },
        { 'cache-control': 'no-store' },
      );
    }),

    register: commandHandler(services, registerSpec),
    assignRoles: commandHandler(services, assignRolesSpec),

    /** The client's secret is shown in this answer only; the store keeps its hash. No Idempotency-Key: a replay would have to keep the secret. */
    registerClient: withProblemDetails(async (request, context) => {
      const s = await services();
      const principal = await authenticate(request, s);
      const body = validate(registerClientSchema, await readJsonBody(request), 'body');
      const secret = randomBytes(32).toString('base64url');
      const result = await runCommand(s, registerClientSpec, {
        body: { ...body, secretHash: hashSecret(secret) },
        principal,
        metadata: metadataOf(request, context, principal.subject),
        context,
      });
      return jsonResponse(201, { clientId: result.body.id, clientSecret: secret, version: result.body.version }, { 'cache-control': 'no-store' });
    }),

    /** RFC 6749: errors as `application/json` `{ error, error_description }` (see withOAuthErrors). */
    token: withOAuthErrors(async (request, context) => {
      const s = await services();
      const form = await readForm(request);
      const { grant_type: grant } = validateGrant(grantType, form);
      if (grant === 'password') return passwordLogin(s, request, context, form);
      if (grant === 'refresh_token') return refreshLogin(s, request, context, form);
      if (grant === 'client_credentials') return clientLogin(s, request, form);
      throw new OAuthError(400, 'unsupported_grant_type', 'use grant_type password, refresh_token or client_credentials');
    }),

    /** RFC 7009: always 200, whether the token was current, rotated, unknown or an access token. */
    revoke: withOAuthErrors(async (request, context) => {
      const s = await services();
      const { token } = validateGrant(revokeSchema, await readForm(request));
      const refresh = parseRefreshToken(token);
      if (refresh) {
        await runCommand(s, revokeSessionSpec, { id: refresh.familyId, body: { presentedHash: refresh.hash }, metadata: metadataOf(request, context), context }).catch(
          (error) => {
            if (!(error instanceof NotFound || error instanceof ConcurrencyConflict)) throw error;
          },
        );
      }
      return jsonResponse(200, {}, { 'cache-control': 'no-store' });
    }),

    me: withProblemDetails(async (request) => {
      const s = await services();
      const { user, personal } = await callerAccount(s, request);
      return jsonResponse(200, { id: user.id, ...personal, roles: user.roles, pharmacyIds: user.pharmacyIds }, { 'cache-control': 'no-store' });
    }),

    jwks: withProblemDetails(async () => jsonResponse(200, publicJwks(await services()), { 'cache-control': 'public, max-age=300' })),

    // Discovery for API Management's validate-jwt (and partners): it finds the keys from here.
    openIdConfiguration: withProblemDetails(async () => {
      const { issuer } = (await services()).settings.auth;
      return jsonResponse(
        200,
        {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          token_endpoint: `${issuer}/token`,
          revocation_endpoint: `${issuer}/revoke`,
          grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          id_token_signing_alg_values_supported: ['ES256'],
          response_types_supported: ['token'],
          subject_types_supported: ['public'],
        },
        { 'cache-control': 'public, max-age=300' },
      );
    }),
  };
}

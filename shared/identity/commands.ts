import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { HttpHandler, HttpRequest, InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { authenticate, checkRevocationWith, publicJwks, type Principal } from '../kernel/auth';
import { clientAddressOf } from '../kernel/client-address';
import { triedBasicAuthentication, withOAuthErrors } from './oauth-errors';
import { adminOnly } from '../kernel/policies';
import { commandHandler, loadAggregate, metadataOf, runCommand, type CommandSpec, type SnapshotPolicy } from '../kernel/command';
import { ConcurrencyConflict, Forbidden, InvalidInput, NotFound, OAuthError, ReservationTaken, ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType } from '../kernel/errors';
import { uuidSchema } from '../kernel/command';
import { expectNoQuery, jsonResponse, parseStrictJson, readBodyText, readJsonBody, validate, withProblemDetails } from '../kernel/http';
import { FormNotUtf8, formPairs } from '../kernel/form';
import type { EventMetadata } from '../kernel/ports';
import { phoneSchema, refuse, text } from '../kernel/schemas';
import type { ServiceProvider, Services } from '../kernel/services';
import { normalisePhone } from '../kernel/brazil';
import { isValidCpf, normaliseCpf } from './domain/cpf';
import { passwordWeakness } from './domain/password-policy';
import { isBreachedPassword } from './common-passwords';
import { sessionDecider, type Session, type SessionCommand, type SessionEvent } from './domain/session';
import { acceptedSecretHashes, CLIENT_SCOPES, clientDecider, MAX_SECRET_OVERLAP_SECONDS, type Client, type ClientCommand, type ClientEvent } from './domain/client';
import { bootstrapDecider, type Bootstrap, type BootstrapCommand, type BootstrapEvent } from './domain/bootstrap';
import { ROLES, userDecider, type Role, type SealedPersonalData, type User, type UserCommand, type UserEvent } from './domain/user';
import { decoyHash, hashPassword, needsRehash, scryptCost, verifyPassword } from './passwords';
import { hashSecret, issueAccessToken, MOST_PHARMACIES_IN_A_TOKEN, newRefreshToken, parseRefreshToken } from './tokens';
import { emailProblem } from './domain/email';
import { emailBlindIndex, isPlainPasswordHash, normaliseEmail, openPasswordHash, openPersonalData, sealPasswordHash, sealPersonalData } from './vault';

export const userStreamId = (id: string) => `user-${id}`;
const sessionStreamId = (id: string) => `session-${id}`;
// v2: the state carries its revision and the revision its tokens are valid from.
const USER_SNAPSHOTS: SnapshotPolicy = { schema: 'user-v2', every: 50 };
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
  email: Joi.string()
    .email({ tlds: false })
    .max(254)
    .custom((value: string, helpers) => {
      const problem = emailProblem(value);
      return problem ? helpers.message({ custom: problem }) : value;
    })
    .required(),
  password: Joi.string()
    .max(256)
    .custom((value: string, helpers) => {
      const email = (helpers.state.ancestors[0] as { email?: unknown }).email;
      const weakness = passwordWeakness(value, { email: typeof email === 'string' ? email : undefined, breached: isBreachedPassword });
      return weakness ? helpers.message({ custom: `password: ${weakness}` }) : value;
    })
    .required(),
  name: text(200).required(),
  cpf: Joi.string()
    .max(14)
    .custom((value: string, helpers) => (isValidCpf(value) ? value : refuse(helpers, 'cpf must be a valid CPF with matching check digits'))),
  phone: phoneSchema,
});

interface SealedRegistration {
  emailIndex: string;
  personal: SealedPersonalData;
  passwordHash: string;
  /** The e-mail is the start-up administrator's: the public may not take it (see ensureAdministrator). */
  reserved: boolean;
}

/** BOOTSTRAP_ADMIN_EMAIL names an identity of the operator's: never open to public registration. */
function isReservedEmail(services: Services, email: string): boolean {
  const reserved = services.settings.bootstrapAdmin?.email;
  return reserved !== undefined && emailBlindIndex(services, reserved) === emailBlindIndex(services, email);
}

/** Every account that was ever made an administrator (few): the last-administrator rule counts the active ones. */
const ADMINISTRATORS = 'administrators';
const administratorIndex = (events: UserEvent[]) =>
  events.some((event) => (event.type === 'UserRegistered' || event.type === 'UserRolesAssigned') && event.data.roles.includes('admin'))
    ? [{ name: ADMINISTRATORS, key: 'all' }]
    : [];

async function activeAdministrators(services: Services): Promise<{ id: string; version: number }[]> {
  const streams = await services.eventStore.readIndex(ADMINISTRATORS, 'all');
  const accounts = await Promise.all(streams.map((streamId) => loadAggregate(services.eventStore, userDecider, USER_SNAPSHOTS, streamId)));
  return accounts.flatMap(({ state, version }) => (state.status === 'active' && state.roles.includes('admin') ? [{ id: state.id, version }] : []));
}

/**
 * What the last-administrator rule decides on: the other active administrators, and the
 * administrators as seen (each at its version). A change that takes an administrator away
 * reserves that view in its append, so two such changes decided on the same view (two
 * administrators demoting each other at once) cannot both be written: the second is a 409.
 */
interface AdministratorFacts {
  otherAdministrators: number;
  wasAdministrator: boolean;
  view: string;
}

async function administratorFacts(services: Services, userId: string): Promise<AdministratorFacts> {
  const administrators = await activeAdministrators(services);
  const seen = administrators.map(({ id, version }) => `${id}@${version}`).sort();
  return {
    otherAdministrators: administrators.filter(({ id }) => id !== userId).length,
    wasAdministrator: administrators.some(({ id }) => id === userId),
    view: createHash('sha256').update(seen.join(',')).digest('base64url'),
  };
}

const ADMINISTRATOR_CHANGE = 'administrator change decided on this view';
const administratorChange = (events: UserEvent[], facts: AdministratorFacts) =>
  facts.wasAdministrator && events.some((event) => event.type === 'UserErased' || (event.type === 'UserRolesAssigned' && !event.data.roles.includes('admin')))
    ? [{ scope: ADMINISTRATOR_CHANGE, value: facts.view }]
    : [];

/**
 * The e-mail's blind index, once the e-mail is known to be free: a taken one is refused
 * before the password is hashed (128 MiB and a core for a third of a second), so repeated
 * registrations of a taken address cost a lookup. The reservation in the append still
 * decides a race; the answer (409) is the one registration always gave.
 */
async function emailStillFree(services: Services, email: string): Promise<string> {
  const index = emailBlindIndex(services, email);
  if (await services.eventStore.findReservation('email', index)) throw new ReservationTaken('email', 'this email is already registered');
  return index;
}

/**
 * Counts a registration against its address (REGISTRATIONS_PER_ADDRESS_PER_HOUR: each hashes
 * a password at full cost) before anything else runs; over the limit, 429
 * with Retry-After. Fails closed like logins: without the count, no password is hashed.
 */
async function refuseIfRegistrationsThrottled(services: Services, request: HttpRequest) {
  let window: { count: number; resetsInSeconds: number };
  try {
    window = await services.counters.incrementWithin(`registrations:address:${clientAddress(request)}`, 3600);
  } catch {
    throw new ServiceUnavailable('registering is unavailable for a moment; try again shortly', 5);
  }
  if (window.count > services.settings.auth.registrationsPerAddressPerHour) throw new TooManyRequests('too many registrations from this address; try again later', window.resetsInSeconds);
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
    emailIndex: await emailStillFree(services, body.email),
    reserved: isReservedEmail(services, body.email),
    passwordHash: await sealPasswordHash(services, id, await hashPassword(body.password, passwordCost(services))),
    personal: await sealPersonalData(services, id, {
      email: normaliseEmail(body.email),
      name: body.name,
      ...(body.cpf ? { cpf: normaliseCpf(body.cpf) } : {}),
      ...(body.phone ? { phone: normalisePhone(body.phone)! } : {}),
    }),
  }),
  toCommand: ({ id, now, facts }) => ({ type: 'RegisterUser', userId: id, personal: facts.personal, passwordHash: facts.passwordHash, reserved: facts.reserved, now }),
  reservations: (events, facts) => (events.some((event) => event.type === 'UserRegistered') ? [{ scope: 'email', value: facts.emailIndex }] : []),
};

/** The start-up administrator's account: the reserved e-mail, the operator's password, the admin role from its first event. */
const bootstrapAdministratorSpec: CommandSpec<Registration, UserCommand, UserEvent, User, SealedRegistration> = {
  ...registerSpec,
  name: 'bootstrapAdministrator',
  toCommand: ({ id, now, facts }) => ({ type: 'BootstrapAdministrator', userId: id, personal: facts.personal, passwordHash: facts.passwordHash, now }),
  indexes: administratorIndex,
};

const BOOTSTRAP_ID = 'administrator';
const bootstrapSpec: CommandSpec<{ userId: string; adopted: boolean }, BootstrapCommand, BootstrapEvent, Bootstrap, undefined> = {
  name: 'recordBootstrap',
  decider: bootstrapDecider,
  streamId: (id) => `bootstrap-${id}`,
  snapshots: { schema: 'bootstrap-v1', every: 50 },
  identity: { kind: 'from-body', id: () => BOOTSTRAP_ID, location: () => '/api/auth/me' },
  toCommand: ({ body, now }) => ({ type: 'RecordBootstrap', userId: body.userId, adopted: body.adopted, now }),
};

const assignRolesSchema = Joi.object<{ roles: Role[]; pharmacyIds: string[] }>({
  roles: Joi.array().items(Joi.string().valid(...ROLES)).min(1).unique().required(),
  // Each is a claim of the person's access token, which must fit in a header.
  pharmacyIds: Joi.array()
    .items(uuidSchema)
    .max(MOST_PHARMACIES_IN_A_TOKEN)
    .unique()
    .default([])
    .messages({ 'array.max': `pharmacyIds must name at most ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies: the person's access token names each, and must fit in an HTTP header` }),
});

export const assignRolesSpec: CommandSpec<{ roles: Role[]; pharmacyIds: string[] }, UserCommand, UserEvent, User, AdministratorFacts> = {
  name: 'assignRoles',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  bodySchema: assignRolesSchema,
  authorize: adminOnly(),
  facts: (services, _body, id) => administratorFacts(services, id),
  toCommand: ({ id, body, now, facts }) => ({
    type: 'AssignRoles',
    userId: id,
    roles: body.roles,
    pharmacyIds: body.pharmacyIds.map((p) => p.toLowerCase()),
    otherAdministrators: facts.otherAdministrators,
    now,
  }),
  indexes: administratorIndex,
  reservations: administratorChange,
};

const clientStreamId = (id: string) => `client-${id}`;
// v2: several secrets (a rotation's overlap) and a disabled status.
const CLIENT_SNAPSHOTS: SnapshotPolicy = { schema: 'client-v3', every: 50 };
const registerClientSchema = Joi.object<{ name: string; scopes: string[]; pharmacyIds: string[] }>({
  name: text(120).required(),
  scopes: Joi.array().items(Joi.string().valid(...CLIENT_SCOPES)).min(1).unique().required(),
  // Each is a claim of the client's access token, which must fit in a header.
  pharmacyIds: Joi.array()
    .items(uuidSchema)
    .min(1)
    .max(MOST_PHARMACIES_IN_A_TOKEN)
    .unique()
    .required()
    .messages({ 'array.max': `pharmacyIds must name at most ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies: the client's access token names each, and must fit in an HTTP header` }),
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
const eraseSpec: CommandSpec<undefined, UserCommand, UserEvent, User, { emailIndex?: string } & AdministratorFacts> = {
  name: 'eraseUser',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  authorize: selfOrAdmin,
  facts: async (services, _body, id) => {
    const user = await loadUser(services, id);
    const personal = user.status === 'active' ? await openPersonalData(services, id, user.personal) : undefined;
    const administrators = await administratorFacts(services, id);
    return personal ? { emailIndex: emailBlindIndex(services, personal.email), ...administrators } : administrators;
  },
  toCommand: ({ id, now, facts }) => ({ type: 'EraseUser', userId: id, otherAdministrators: facts.otherAdministrators, now }),
  reservations: administratorChange,
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
    const fields = new Map<string, string>();
    for (const [name, value] of strictFormPairs(body)) {
      // RFC 6749 §3.1: a parameter sent without a value is omitted, and none may be sent twice.
      if (value === '') continue;
      // An own `__proto__` joi would drop without a word, where any other unknown name is refused.
      if (name === '__proto__') throw new OAuthError(400, 'invalid_request', '__proto__ is not allowed');
      if (fields.has(name)) throw new OAuthError(400, 'invalid_request', `${name.slice(0, 40)} is sent more than once`);
      fields.set(name, value);
    }
    // Own properties only: `constructor` is refused as unknown, `__proto__` above.
    return Object.fromEntries(fields);
  }
  try {
    const parsed = parseStrictJson(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof InvalidInput) throw new OAuthError(400, 'invalid_request', error.errors[0]?.message ?? error.message);
    /* otherwise answered below */
  }
  throw new OAuthError(400, 'invalid_request', 'the body is not a JSON object');
}

/** The form's pairs; escapes that are not UTF-8 are an invalid_request (see formPairs). */
function strictFormPairs(body: string): [string, string][] {
  try {
    return formPairs(body);
  } catch (error) {
    if (error instanceof FormNotUtf8) throw new OAuthError(400, 'invalid_request', error.message);
    throw error;
  }
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

/**
 * The account's ceiling over all addresses, as a multiple of the per-(account, address)
 * limit: high enough that no one attacker reaches it alone, low enough to stop a
 * distributed guess (about 100 guesses a window by default, against scrypt and the list of
 * common passwords). Above it only a known client (an address this account signed in from
 * before) gets its password checked.
 */
const ACCOUNT_CEILING_FACTOR = 20;

interface LoginKeys {
  /** Attempts on one account from one address: the limit an attacker meets, alone. */
  pair: string;
  /** Attempts on one account from anywhere: the ceiling against distributed guessing. */
  account: string;
  /** Attempts from one address on any account (credential stuffing), shared with client logins; a known client passes it. */
  address: string;
  /** The account's known clients: the addresses it signed in from lately (see rememberSuccess). */
  knownClients: string;
  /** This address among them. */
  client: string;
}

/**
 * The known clients kept per account: its most recent addresses, room for a phone on a
 * carrier that changes its IPv6 prefix, home, work and a pharmacy's branches. Bounded per
 * account, so that however many addresses log in, the counters' store (which never evicts)
 * holds at most this many per account (about 2 KB).
 */
const KNOWN_CLIENTS_PER_ACCOUNT = 32;

/** How long an address stays a known client after its last password login: a refresh token's lifetime. */
const knownClientSeconds = (services: Services) => services.settings.auth.refreshTokenDays * 86_400;

const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);

function loginKeys(services: Services, email: string, request: HttpRequest): LoginKeys {
  const account = emailBlindIndex(services, email);
  const address = clientAddress(request);
  return {
    pair: `login-attempts:pair:${digest(`${account}\n${address}`)}`,
    account: `login-attempts:account:${account}`,
    address: `login-failures:address:${address}`,
    knownClients: `login-known-clients:${account}`,
    client: digest(address),
  };
}

/**
 * Counts the attempt atomically before any password is checked (INCR in the counters' store, so
 * parallel guesses each take a count and at most the limit of them are ever evaluated),
 * and refuses, with Retry-After, one over a limit: its (account, address) pair's, or its
 * address's or the account's ceiling unless the address is a known client of the account.
 * The pair's limit is the attacker's own: it never stops the owner elsewhere.
 *
 * Fails closed: when the counters' store errs, is away, or does not answer within the adapter's
 * timeout (a frozen Redis costs REDIS_COMMAND_TIMEOUT_MS, then fails at once during the
 * adapter's pause), the login answers 503 with Retry-After and no password is checked,
 * never a 500 and never a hang. Failing open would make every outage of it (and any
 * attacker able to cause one) a window of unlimited guessing against every account; a
 * count held in each instance instead would multiply the limit by the instances. Logins
 * are few and retried; signed-in users keep their access and refresh tokens meanwhile.
 */
async function refuseIfThrottled(services: Services, keys: LoginKeys) {
  try {
    await countAttempt(services, keys);
  } catch (error) {
    if (error instanceof TooManyRequests) throw error;
    // No counter, no password check: an outage of the counters must not open unlimited guessing.
    throw new ServiceUnavailable('logging in is unavailable for a moment; try again shortly', 5);
  }
}

async function countAttempt(services: Services, keys: LoginKeys) {
  const { maxFailuresPerAccount: perPair, maxFailuresPerAddress: perAddress, failureWindowSeconds: window } = services.settings.auth;
  const refuse = (resetsInSeconds: number) => new TooManyRequests('too many login attempts; try again later', resetsInSeconds);
  // Asked only past a shared limit, and once: most attempts never need it.
  let known: Promise<boolean> | undefined;
  const isKnownClient = () => (known ??= services.counters.recalls(keys.knownClients, keys.client, knownClientSeconds(services)));
  // The address first: an attempt it refuses opens no window of its own, so one address cannot
  // make the thousands of (account, address) windows that would crowd a victim's out of a
  // bounded counter. Its limit is shared with everyone behind it (a carrier's NAT, public
  // Wi-Fi): a neighbour spraying other accounts must not shut the owner's known device out.
  const address = await services.counters.incrementWithin(keys.address, window);
  if (address.count > perAddress && !(await isKnownClient())) throw refuse(address.resetsInSeconds);
  const pair = await services.counters.incrementWithin(keys.pair, window);
  if (pair.count > perPair) {
    // Refused by its own limit, as before the address was counted first: one device retrying a
    // stale password adds at most the pair's limit to its address, and turns no neighbour away.
    await services.counters.uncount(keys.address).catch(() => {});
    throw refuse(pair.resetsInSeconds);
  }
  const account = await services.counters.incrementWithin(keys.account, window);
  if (account.count > perPair * ACCOUNT_CEILING_FACTOR && !(await isKnownClient())) throw refuse(account.resetsInSeconds);
}

/**
 * A success takes its counts back and makes the address a known client of the account, for
 * a refresh token's lifetime from this login, renewed in one step. Kept with the counts, not
 * as a cached value: cached reads, which anyone can multiply (a cursor, a search), would push
 * it out of the cache.
 */
async function rememberSuccess(services: Services, keys: LoginKeys) {
  // The login stands even if the counters fail here: the counts then only run out with their window.
  await Promise.allSettled([
    services.counters.resetWindow(keys.pair),
    services.counters.uncount(keys.address),
    services.counters.uncount(keys.account),
    services.counters.remember(keys.knownClients, keys.client, knownClientSeconds(services), KNOWN_CLIENTS_PER_ACCOUNT),
  ]);
}

async function grantTokens(
  services: Services,
  user: Extract<User, { status: 'active' }>,
  refreshToken: string,
) {
  const scopes = scopesOf(user.roles);
  const accessToken = await issueAccessToken(services, { subject: user.id, roles: user.roles, scopes, pharmacyIds: user.pharmacyIds, version: user.revision });
  return jsonResponse(
    200,
    { access_token: accessToken, token_type: 'Bearer', expires_in: services.settings.auth.accessTokenSeconds, refresh_token: refreshToken, scope: scopes.join(' ') },
    // RFC 6749 §5.1: tokens are never cached.
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

/** scrypt's cost from the settings: OWASP's minimum (N=2^17, r=8, p=1) unless tests lower it. */
const passwordCost = (services: Services) => scryptCost(services.settings.auth.passwordScryptLog2N);

const rehashPasswordSpec: CommandSpec<{ previous: string; passwordHash: string }, UserCommand, UserEvent, User, undefined> = {
  name: 'rehashPassword',
  decider: userDecider,
  streamId: userStreamId,
  snapshots: USER_SNAPSHOTS,
  toCommand: ({ id, body, now }) => ({ type: 'RehashPassword', userId: id, ...body, now }),
};

/**
 * A hash made at a lower cost than today's (before the cost was raised), or kept plain (before
 * hashes were sealed), is made anew and sealed while the password is at hand, at a successful
 * login: no one has to change a password for it. `stored` is the hash as the state holds it.
 */
async function upgradePasswordHash(services: Services, request: HttpRequest, context: InvocationContext, userId: string, password: string, hash: string, stored: string) {
  const cost = passwordCost(services);
  if (!needsRehash(hash, cost) && !isPlainPasswordHash(stored)) return;
  try {
    await runCommand(services, rehashPasswordSpec, {
      id: userId,
      body: { previous: stored, passwordHash: await sealPasswordHash(services, userId, await hashPassword(password, cost)) },
      principal: 'system',
      metadata: metadataOf(request, context, userId),
      context,
    });
  } catch (error) {
    // Another login rehashed it meanwhile: that one stands.
    if (!(error instanceof ConcurrencyConflict)) throw error;
  }
}

async function passwordLogin(services: Services, request: HttpRequest, context: InvocationContext, form: Record<string, unknown>) {
  const { username, password } = validateGrant(passwordGrant, form);
  const keys = loginKeys(services, username, request);
  await refuseIfThrottled(services, keys);
  const streamId = await services.eventStore.findReservation('email', emailBlindIndex(services, username));
  const user = streamId ? await loadUser(services, streamId.slice(userStreamId('').length)) : undefined;
  // An unknown account costs the same scrypt as a known one: timing tells nothing.
  const opened = user?.status === 'active' ? await openPasswordHash(services, user.id, user.passwordHash) : undefined;
  const hash = opened ?? (await decoyHash(passwordCost(services)));
  const valid = (await verifyPassword(password, hash)) && user?.status === 'active';
  // The attempt was counted before the check: a failure leaves its counts as they are.
  if (!valid || user?.status !== 'active') throw new OAuthError(400, 'invalid_grant', 'the e-mail or the password is wrong');
  await rememberSuccess(services, keys);
  await upgradePasswordHash(services, request, context, user.id, password, hash, user.passwordHash);
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
  let window: Awaited<ReturnType<Services['counters']['peekWindow']>>;
  try {
    window = await services.counters.peekWindow(address);
  } catch {
    // As for passwords (refuseIfThrottled): without the failure count, no secret is checked.
    throw new ServiceUnavailable('logging in is unavailable for a moment; try again shortly', 5);
  }
  if (window && window.count >= services.settings.auth.maxFailuresPerAddress) {
    throw new TooManyRequests('too many failed logins; try again later', window.resetsInSeconds);
  }
  const credentials = clientCredentials(request, grant);
  const known = uuidSchema.validate(credentials.id).error === undefined;
  const client = known
    ? (await loadAggregate(services.eventStore, clientDecider, CLIENT_SNAPSHOTS, clientStreamId(credentials.id.toLowerCase()))).state
    : undefined;
  const presented = Buffer.from(hashSecret(credentials.secret));
  // Each secret still accepted (two during a rotation's overlap; none once disabled) is compared, a decoy when none is.
  const accepted = client ? acceptedSecretHashes(client, services.clock.now()) : [];
  const matches = (accepted.length ? accepted : [hashSecret(randomUUID())])
    .map((hash) => Buffer.from(hash))
    .map((expected) => presented.length === expected.length && timingSafeEqual(presented, expected));
  if (client?.status !== 'active' || !accepted.length || !matches.includes(true)) {
    // The answer stands if the count fails now (the counters went away since the peek).
    await services.counters.incrementWithin(address, services.settings.auth.failureWindowSeconds).catch(() => {});
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
    version: client.tokensValidFrom,
  });
  return jsonResponse(
    200,
    { access_token: accessToken, token_type: 'Bearer', expires_in: services.settings.auth.accessTokenSeconds, scope: requested.join(' ') },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

/**
 * The first administrator, from the operator's settings (BOOTSTRAP_ADMIN_EMAIL and
 * BOOTSTRAP_ADMIN_PASSWORD), made once for the life of the platform and never again: a
 * `bootstrap-administrator` stream records that it happened, and later starts do nothing.
 * It is a new account with the operator's password, an administrator from its first event;
 * an existing account is never promoted (an administrator already holding the e-mail, made
 * by an earlier version, is adopted as it is). Nothing is made when an administrator exists
 * already. The public cannot register the reserved e-mail (see isReservedEmail).
 * Answers the administrator's id, or undefined when the e-mail is held by an account that
 * is not one (nothing is done: the operator must look).
 */
export async function ensureAdministrator(services: Services, email: string, password: string, context: InvocationContext): Promise<string | undefined> {
  const metadata: EventMetadata = { correlationId: 'bootstrap', actor: 'system:bootstrap' };
  const recorded = async () => (await loadAggregate(services.eventStore, bootstrapDecider, bootstrapSpec.snapshots, bootstrapSpec.streamId(BOOTSTRAP_ID))).state;
  const earlier = await recorded();
  if (earlier.status === 'done') return earlier.userId;
  const record = async (userId: string, adopted: boolean) => {
    await runCommand(services, bootstrapSpec, { body: { userId, adopted }, metadata, context }).catch((error: unknown) => {
      if (!(error instanceof ConcurrencyConflict)) throw error;
    });
    const done = await recorded();
    return done.status === 'done' ? done.userId : userId;
  };
  const holder = async () => (await services.eventStore.findReservation('email', emailBlindIndex(services, email)))?.slice(userStreamId('').length);
  let userId = await holder();
  if (!userId) {
    // An administrator exists already (the e-mail's first holder was erased, say): none is made.
    const [administrator] = await activeAdministrators(services);
    if (administrator) return record(administrator.id, true);
    try {
      const body = validate(registerSchema, { email, password, name: 'Administrator' }, 'body');
      return record((await runCommand(services, bootstrapAdministratorSpec, { body, metadata, context })).body.id, false);
    } catch (error) {
      // Another instance starting at the same moment made it: adopted below.
      if (!(error instanceof ReservationTaken)) throw error;
      userId = await holder();
    }
  }
  const user = userId ? await loadUser(services, userId) : undefined;
  if (user?.status === 'active' && user.roles.includes('admin')) return record(user.id, true);
  context.warn('BOOTSTRAP_ADMIN_EMAIL belongs to an account that is not an administrator: it was not promoted and no administrator was made');
  return undefined;
}

/**
 * Revocation: a token is refused once its subject was erased, is a disabled client, or
 * lost a role or a pharmacy after the token's revision (`ver`). The subject's standing is
 * read from the cache under a generation that every such change moves on (so a reader
 * racing the change cannot keep the old standing current), and from the event store on a
 * miss, kept a minute: a cached read per request, a store read per subject per minute.
 */
interface Standing {
  gone: boolean;
  validFrom: number;
}
const STANDING_SECONDS = 60;
const standingKey = (kind: Principal['kind'], subject: string) => `token-standing:${kind}:${subject}`;

async function loadStanding(services: Services, principal: Principal): Promise<Standing> {
  if (principal.kind === 'client') {
    const client = (await loadAggregate(services.eventStore, clientDecider, CLIENT_SNAPSHOTS, clientStreamId(principal.subject))).state;
    return { gone: client.status === 'disabled', validFrom: client.status === 'active' ? client.tokensValidFrom : 0 };
  }
  const user = await loadUser(services, principal.subject);
  return { gone: user.status === 'erased', validFrom: user.status === 'active' ? user.tokensValidFrom : 0 };
}

export async function isRevoked(services: Services, principal: Principal): Promise<boolean> {
  const key = standingKey(principal.kind, principal.subject);
  let slot: string | undefined;
  let standing: Standing | undefined;
  try {
    // A take-back Redis has not taken yet: the standing cached under the old generation is out of date.
    if (!untakenBacks.has(key)) {
      slot = `${key}:${await services.cache.counter(`${key}:generation`)}`;
      const cached = await services.cache.get<Standing>(slot);
      if (cached?.fresh) standing = cached.value;
    }
  } catch {
    // The cache is away: the event store answers, as on a miss.
  }
  if (!standing) {
    standing = await loadStanding(services, principal);
    // Not awaited: the request has its answer; a slow cache must not hold it.
    if (slot) void services.cache.set(slot, standing, { freshSeconds: STANDING_SECONDS, staleSeconds: STANDING_SECONDS }).catch(() => {});
  }
  return standing.gone || (principal.version ?? 0) < standing.validFrom;
}

/**
 * Standing keys whose generation bump the cache refused (Redis out of reach), each with
 * when the standings cached before it have expired anyway. Until the bump lands, this
 * instance reads those subjects from the store, and it is retried: Redis back with its
 * keys would otherwise keep serving the old standing to every instance for a minute.
 */
const untakenBacks = new Map<string, number>();
const TAKE_BACK_RETRY_MS = 100;

/** After a change that takes powers away: the subject's cached standing is read anew from the store. */
async function takeBackTokens(services: Services, kind: Principal['kind'], subject: string) {
  const key = standingKey(kind, subject);
  await services.cache.increment(`${key}:generation`).catch(() => keepTakingBack(services, key));
}

function keepTakingBack(services: Services, key: string) {
  const retrying = untakenBacks.has(key);
  untakenBacks.set(key, Date.now() + STANDING_SECONDS * 1000);
  if (retrying) return;
  const retry = () =>
    services.cache.increment(`${key}:generation`).then(
      () => untakenBacks.delete(key),
      () => {
        if (Date.now() >= (untakenBacks.get(key) ?? 0)) untakenBacks.delete(key);
        else setTimeout(retry, TAKE_BACK_RETRY_MS).unref();
      },
    );
  setTimeout(retry, TAKE_BACK_RETRY_MS).unref();
}

const rotateSecretSchema = Joi.object<{ overlapSeconds: number }>({
  overlapSeconds: Joi.number().integer().min(0).max(MAX_SECRET_OVERLAP_SECONDS).default(86_400),
});

const rotateClientSecretSpec: CommandSpec<{ secretHash: string; overlapSeconds: number }, ClientCommand, ClientEvent, Client, undefined> = {
  name: 'rotateClientSecret',
  decider: clientDecider,
  streamId: clientStreamId,
  snapshots: CLIENT_SNAPSHOTS,
  authorize: adminOnly(),
  toCommand: ({ body, now }) => ({ type: 'RotateClientSecret', secretHash: body.secretHash, overlapSeconds: body.overlapSeconds, now }),
};

const disableClientSpec: CommandSpec<undefined, ClientCommand, ClientEvent, Client, undefined> = {
  name: 'disableClient',
  decider: clientDecider,
  streamId: clientStreamId,
  snapshots: CLIENT_SNAPSHOTS,
  authorize: adminOnly(),
  toCommand: ({ now }) => ({ type: 'DisableClient', now }),
};

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
  await takeBackTokens(services, 'user', id);
  return jsonResponse(200, result.body, { 'cache-control': 'no-store' });
}

export function identityHandlers(
  services: ServiceProvider,
): Record<
  'register' | 'token' | 'revoke' | 'me' | 'jwks' | 'openIdConfiguration' | 'assignRoles' | 'registerClient' | 'rotateClientSecret' | 'disableClient' | 'myData' | 'eraseMe' | 'eraseUser',
  HttpHandler
> {
  checkRevocationWith(isRevoked);
  /** A command that takes powers away, then the subject's tokens with them. */
  const thenTakeBackTokens =
    (kind: Principal['kind'], handler: HttpHandler): HttpHandler =>
    async (request, context) => {
      const response = await handler(request, context);
      if ((response.status ?? 200) < 300) await takeBackTokens(await services(), kind, String(request.params.id).toLowerCase());
      return response;
    };
  return {
    eraseMe: withProblemDetails(async (request, context) => {
      const s = await services();
      const principal = await authenticate(request, s);
      if (principal.kind !== 'user') throw new Forbidden('a partner client has no personal account to erase');
      expectNoQuery(request);
      return erase(s, principal.subject, request, context);
    }),

    eraseUser: withProblemDetails(async (request, context) => erase(await services(), validate(uuidSchema, request.params.id, 'path'), request, context)),

    /** LGPD right of access: everything held about the caller, personal fields opened. */
    myData: withProblemDetails(async (request) => {
      const s = await services();
      const { user, personal } = await callerAccount(s, request);
      expectNoQuery(request);
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

    register: (() => {
      const register = commandHandler(services, registerSpec);
      return withProblemDetails(async (request, context) => {
        await refuseIfRegistrationsThrottled(await services(), request);
        return register(request, context);
      });
    })(),
    assignRoles: thenTakeBackTokens('user', commandHandler(services, assignRolesSpec)),
    disableClient: thenTakeBackTokens('client', commandHandler(services, disableClientSpec)),

    /**
     * A new secret, shown in this answer only; the one it replaces works on for `overlapSeconds`
     * (default a day). With no overlap (a leaked secret) the tokens issued so far stop too.
     */
    rotateClientSecret: thenTakeBackTokens('client', withProblemDetails(async (request, context) => {
      const s = await services();
      const principal = await authenticate(request, s);
      const id = validate(uuidSchema, request.params.id, 'path');
      const { overlapSeconds } = validate(rotateSecretSchema, await readJsonBody(request), 'body');
      const secret = randomBytes(32).toString('base64url');
      const result = await runCommand(s, rotateClientSecretSpec, {
        id,
        body: { secretHash: hashSecret(secret), overlapSeconds },
        principal,
        metadata: metadataOf(request, context, principal.subject),
        context,
      });
      const previousSecretValidUntil = new Date(s.clock.now().getTime() + overlapSeconds * 1000).toISOString();
      return jsonResponse(200, { clientId: id, clientSecret: secret, previousSecretValidUntil, version: result.body.version }, { 'cache-control': 'no-store' });
    })),

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
      expectNoQuery(request);
      return jsonResponse(200, { id: user.id, ...personal, roles: user.roles, pharmacyIds: user.pharmacyIds }, { 'cache-control': 'no-store' });
    }),

    jwks: withProblemDetails(async (request) => {
      expectNoQuery(request);
      return jsonResponse(200, publicJwks(await services()), { 'cache-control': 'public, max-age=300' });
    }),

    // Discovery for API Management's validate-jwt (and partners): it finds the keys from here.
    openIdConfiguration: withProblemDetails(async (request) => {
      expectNoQuery(request);
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

import { ApiError, bodyOf, send } from './api';
import { forgetSavedResults } from './saved';

/**
 * The signed-in person's tokens. The access token lives in memory only: a script that is not
 * the app's (the content security policy allows none) could not read it from storage, and it
 * lasts minutes. The refresh token lives in sessionStorage, so a reload keeps the session
 * and closing the tab ends it; the API rotates it at every use and revokes its whole family
 * when a used one comes back, so a stolen copy works at most once, and is then noticed.
 *
 * A duplicated tab starts with a copy of sessionStorage, so of the refresh token: two tabs
 * rotating one token would be a reuse, and the API would sign both out. So a tab uses the
 * stored token only while it holds a Web Lock named after that sign-in (`held`); a duplicate
 * finds the lock taken, drops its copy and asks to sign in again (docs/web.md).
 */
interface Tokens {
  access: string;
  expiresAt: number;
}

interface TokenAnswer {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
}

const REFRESH_KEY = 'farmacias:sessao';
/** The sign-in's own name, made at sign-in: its lock's name, the same in a duplicated tab. */
const SIGN_IN_KEY = 'farmacias:sessao:id';
/**
 * How long a tab waits for its sign-in's lock before deciding another tab holds it. Not at
 * once: across a reload the page that left may still hold it for a moment.
 */
const LOCK_WAIT_MS = 1_500;
const HELD_ELSEWHERE = 'Sua sessão está aberta em outra aba. Para usar esta aba também, entre de novo.';
/** Refreshed a little before it expires, so a request never leaves with a token about to lapse. */
const EARLY_MS = 30_000;

let tokens: Tokens | undefined;
/** Bumped when the session ends: a token answer that left before it is not kept. */
let generation = 0;
let refreshing: Promise<string | undefined> | undefined;
const listeners = new Set<() => void>();
/** This tab's hold on its sign-in's lock, released when the session ends here (or the tab closes). */
let held: { signIn: string; release(): void } | undefined;
let holding: Promise<boolean> | undefined;
/** Why the session ended without the person signing out, to be told on the sign-in form. */
let endedBecause: string | undefined;

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function signedIn(): boolean {
  return tokens !== undefined || sessionStorage.getItem(REFRESH_KEY) !== null;
}

function keep(answer: TokenAnswer): string {
  tokens = { access: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
  if (answer.refresh_token) sessionStorage.setItem(REFRESH_KEY, answer.refresh_token);
  listeners.forEach((listener) => listener());
  return answer.access_token;
}

/** Why the last session ended by itself (another tab holds it), when it did. */
export function sessionEndedReason(): string | undefined {
  return endedBecause;
}

function forget(reason?: string): void {
  generation++;
  tokens = undefined;
  endedBecause = reason;
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem(SIGN_IN_KEY);
  held?.release();
  held = undefined;
  holding = undefined;
  listeners.forEach((listener) => listener());
}

/**
 * Holds the lock named after `signIn` for as long as this page lives or the session lasts;
 * false when another tab holds it beyond `waitMs`. Where the browser has no Web Locks, every
 * tab is taken to be alone, as before them.
 */
function holdLock(signIn: string, waitMs: number): Promise<boolean> {
  if (typeof navigator === 'undefined' || !('locks' in navigator)) return Promise.resolve(true);
  return new Promise((resolve) => {
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    navigator.locks
      .request(`farmacias:sessao:${signIn}`, { signal: AbortSignal.timeout(waitMs) }, () => {
        // Granted for a sign-in this tab no longer has (signed in anew while it waited): let go at once.
        if (sessionStorage.getItem(SIGN_IN_KEY) !== signIn) return resolve(false);
        held = { signIn, release };
        resolve(true);
        return released;
      })
      // Aborted (the wait ran out): another tab holds this sign-in.
      .catch(() => resolve(false));
  });
}

/** Whether this tab may use the stored refresh token: it holds, or now takes, its sign-in's lock; if another tab holds it, the copy here is dropped. */
function mayUseStoredToken(): Promise<boolean> {
  let signIn = sessionStorage.getItem(SIGN_IN_KEY);
  if (held && held.signIn === signIn) return Promise.resolve(true);
  if (!signIn) {
    // A token stored before sign-ins were named: named now, in this tab.
    signIn = newSignInName();
    sessionStorage.setItem(SIGN_IN_KEY, signIn);
  }
  if (!holding) {
    const attempt: Promise<boolean> = holdLock(signIn, LOCK_WAIT_MS).then((mine) => {
      // Only if this is still the tab's attempt: a sign-in made meanwhile is the tab's own.
      if (!mine && holding === attempt) dropDuplicate();
      return mine;
    });
    holding = attempt;
  }
  return holding;
}

/** Called as the app starts: the tab that was there first keeps the sign-in, rather than whichever refreshes first. */
export function claimStoredSession(): void {
  if (sessionStorage.getItem(REFRESH_KEY)) void mayUseStoredToken();
}

/** 128 random bits in hex (crypto.randomUUID needs a secure context; this does not). */
function newSignInName(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Another tab holds this sign-in: its copy here is dropped (not revoked: it is the other tab's), and the person asked to sign in. */
function dropDuplicate(): void {
  if (sessionStorage.getItem(REFRESH_KEY)) forget(HELD_ELSEWHERE);
}

async function grant(form: Record<string, string>): Promise<string> {
  const session = generation;
  const response = await send('auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, client_id: 'farmacias-web' }).toString(),
  });
  const answer = await bodyOf<TokenAnswer>(response);
  if (session !== generation) {
    // Signed out (or erased) while this was in flight: its tokens are not kept, and the new refresh token is revoked.
    if (answer.refresh_token) void revoke(answer.refresh_token);
    throw new ApiError('Sua sessão terminou. Entre de novo.', 401);
  }
  return keep(answer);
}

function revoke(refreshToken: string): Promise<unknown> {
  return send('auth/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: 'farmacias-web' }).toString(),
  }).catch(() => undefined);
}

export async function logIn(email: string, password: string): Promise<string> {
  // A sign-in of this tab's own, under a new name whose lock no other tab can hold.
  held?.release();
  held = undefined;
  holding = undefined;
  const signIn = newSignInName();
  sessionStorage.setItem(SIGN_IN_KEY, signIn);
  await holdLock(signIn, LOCK_WAIT_MS);
  endedBecause = undefined;
  return grant({ grant_type: 'password', username: email, password });
}

export async function register(account: { name: string; email: string; password: string; cpf?: string }): Promise<void> {
  const response = await send('auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(account) });
  await bodyOf(response);
  await logIn(account.email, account.password);
}

/** One refresh at a time, however many requests find the access token stale. */
function refreshed(): Promise<string | undefined> {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  if (!refreshToken) return Promise.resolve(undefined);
  const session = generation;
  refreshing ??= mayUseStoredToken()
    .then((mine) => {
      if (mine) return grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
      throw new ApiError(HELD_ELSEWHERE, 401);
    })
    .catch((error: unknown) => {
      // A session that ended meanwhile is not ended again: a new sign-in may stand in its place.
      if (session !== generation) throw error;
      // A refused refresh (invalid_grant is 400, a bad client 401) ends the session; a network
      // failure, a 429 or a 5xx keeps it for the next try.
      if (error instanceof ApiError && (error.status === 400 || error.status === 401)) forget();
      throw error;
    })
    .finally(() => (refreshing = undefined));
  return refreshing;
}

async function accessToken(): Promise<string | undefined> {
  if (tokens && tokens.expiresAt - EARLY_MS > Date.now()) return tokens.access;
  return refreshed();
}

/** A request as the signed-in person: refreshed once and tried again if the API says the token lapsed. */
export async function sendSignedIn(path: string, init: RequestInit = {}, timeoutMs?: number): Promise<Response> {
  const attempt = async (token: string | undefined) => {
    if (!token) throw new ApiError('Entre na sua conta para continuar.', 401);
    return send(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }, timeoutMs);
  };
  const response = await attempt(await accessToken());
  if (response.status !== 401) return response;
  tokens = undefined;
  return attempt(await refreshed());
}

export async function logOut(): Promise<void> {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  forget();
  forgetSavedResults();
  if (refreshToken) await revoke(refreshToken);
}

/** After the account is erased: nothing of it stays on the phone. */
export function endErasedSession(): void {
  forget();
  forgetSavedResults();
}

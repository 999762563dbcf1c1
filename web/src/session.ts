import { ApiError, bodyOf, send } from './api';
import { forgetSavedResults } from './saved';

/**
 * The signed-in person's tokens. The access token lives in memory only: a script that is not
 * the app's (the content security policy allows none) could not read it from storage, and it
 * lasts minutes. The refresh token lives in sessionStorage, so a reload keeps the session
 * and closing the tab ends it; the API rotates it at every use and revokes its whole family
 * when a used one comes back, so a stolen copy works at most once, and is then noticed.
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
/** Refreshed a little before it expires, so a request never leaves with a token about to lapse. */
const EARLY_MS = 30_000;

let tokens: Tokens | undefined;
/** Bumped when the session ends: a token answer that left before it is not kept. */
let generation = 0;
let refreshing: Promise<string | undefined> | undefined;
const listeners = new Set<() => void>();

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

function forget(): void {
  generation++;
  tokens = undefined;
  sessionStorage.removeItem(REFRESH_KEY);
  listeners.forEach((listener) => listener());
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

export function logIn(email: string, password: string): Promise<string> {
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
  refreshing ??= grant({ grant_type: 'refresh_token', refresh_token: refreshToken })
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

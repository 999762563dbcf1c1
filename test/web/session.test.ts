import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { webModule } from '../support/web-module';

interface Session {
  sendSignedIn(path: string, init?: RequestInit): Promise<Response>;
  logOut(): Promise<void>;
  signedIn(): boolean;
}

const REFRESH_KEY = 'farmacias:sessao';
type Answer = (url: string, init: RequestInit) => Promise<Response>;

/** The browser's sessionStorage and fetch, as session.ts uses them, for one test. */
function browserGlobals(answer: Answer) {
  const stored = new Map<string, string>();
  const calls: string[] = [];
  Object.assign(globalThis, {
    sessionStorage: {
      getItem: (key: string) => stored.get(key) ?? null,
      setItem: (key: string, value: string) => void stored.set(key, value),
      removeItem: (key: string) => void stored.delete(key),
    },
  });
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    calls.push(url);
    return answer(url, init);
  }) as typeof fetch;
  return { stored, calls };
}

const json = (status: number, body: object, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('the web app keeps the signed-in session (review)', () => {
  const realFetch = globalThis.fetch;
  let session: Session;
  beforeEach(() => (session = webModule<Session>('session.ts')));
  afterEach(() => {
    globalThis.fetch = realFetch;
    delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
  });

  it('given a refresh answered 429 (too many requests), when a signed-in request needs it, then the session is kept for the next try', async () => {
    const { stored } = browserGlobals(async (url) => (url.endsWith('auth/token') ? json(429, { title: 'Too Many Requests' }, { 'retry-after': '5' }) : json(200, {})));
    stored.set(REFRESH_KEY, 'refresh-1');
    await assert.rejects(session.sendSignedIn('auth/me'));
    assert.equal(stored.get(REFRESH_KEY), 'refresh-1', 'a rate-limited refresh signed the person out');
  });

  it('given a refresh in flight, when the person signs out, then its answer does not sign them back in', async () => {
    let answerRefresh!: (response: Response) => void;
    const { stored, calls } = browserGlobals((url) =>
      url.endsWith('auth/token') ? new Promise<Response>((resolve) => (answerRefresh = resolve)) : Promise.resolve(json(200, {})),
    );
    stored.set(REFRESH_KEY, 'refresh-1');
    const request = session.sendSignedIn('auth/me').catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await session.logOut();
    answerRefresh(json(200, { access_token: 'access-2', expires_in: 300, refresh_token: 'refresh-2' }));
    await request;
    assert.ok(calls.some((url) => url.endsWith('auth/revoke')));
    assert.equal(session.signedIn(), false, 'signed in again after signing out');
    assert.equal(stored.get(REFRESH_KEY), undefined, 'the rotated refresh token was kept after signing out');
  });
});

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LocalCosmos {
  endpoint: string;
  key: string;
  stop(): Promise<void>;
}

/** How far a request's `x-ms-date` may be from now, as Cosmos DB allows (15 minutes). */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

/**
 * The resource a request names, as the Cosmos DB REST API signs it: a path ending with an
 * id (`dbs/db/colls/c/docs/d`) is that resource, of the type before it; a path ending with a
 * type (`dbs/db/colls/c/docs`, a feed or a create) is that type, under its parent. Undefined
 * when the target is not a path it can read (`//` is an authority to `new URL`, `%zz` no
 * escape): a throw here, in the request listener, would end the process.
 */
function resourceOf(url: string): { type: string; id: string } | undefined {
  let segments: string[];
  try {
    segments = new URL(url, 'http://local').pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments.length === 0) return { type: '', id: '' };
  if (segments.length % 2 === 0) return { type: segments[segments.length - 2], id: segments.join('/') };
  return { type: segments[segments.length - 1], id: segments.slice(0, -1).join('/') };
}

/**
 * Whether a request carries a master-key signature made with `key` (HMAC-SHA256 over the
 * verb, resource type, resource id and date) and a date within the allowed skew.
 */
export function signedWith(key: string, request: IncomingMessage, now = Date.now()): boolean {
  const date = request.headers['x-ms-date'];
  const authorization = request.headers.authorization;
  if (typeof date !== 'string' || typeof authorization !== 'string') return false;
  const when = Date.parse(date);
  if (Number.isNaN(when) || Math.abs(now - when) > MAX_CLOCK_SKEW_MS) return false;
  // `type=master&ver=1.0&sig=<base64>`, URI-encoded once; the signature's `+` stays a `+`.
  let token: Map<string, string>;
  try {
    token = new Map(decodeURIComponent(authorization).split('&').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]));
  } catch {
    return false;
  }
  if (token.get('type') !== 'master' || token.get('ver') !== '1.0') return false;
  const resource = resourceOf(request.url ?? '/');
  if (!resource) return false;
  const { type, id } = resource;
  const text = `${(request.method ?? '').toLowerCase()}\n${type.toLowerCase()}\n${id}\n${date.toLowerCase()}\n\n`;
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(text).digest();
  const given = Buffer.from(token.get('sig') ?? '', 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The Cosmos DB protocol server the local profile reads from: in-process, memory only,
 * plain HTTP on loopback (so no TLS check is ever turned off), on a free port. It answers
 * only requests signed with a key made at random for this start, which only this process
 * knows: another local user or a web page cannot read or change the read models.
 */
export async function startLocalCosmos(): Promise<LocalCosmos> {
  const { createHttpServer } = await import('@vercel/cosmosdb-server');
  const key = randomBytes(64).toString('base64');
  const server = createHttpServer({ keepAlive: true } as Parameters<typeof createHttpServer>[0]);
  const serve = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (signedWith(key, request)) {
      for (const listener of serve) listener(request, response);
      return;
    }
    request.resume();
    response.writeHead(401, { 'content-type': 'application/json', connection: 'keep-alive' });
    response.end(JSON.stringify({ code: 'Unauthorized', message: 'the request is not signed with this server’s key' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    key,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where `npm start` tells operator tools on the same DATA_DIR how to reach its read store. */
export const LOCAL_READ_STORE_FILE = 'read-store.json';

/**
 * Publishes a running local server's address and key, readable by this user alone (as
 * `secrets.json` beside it): `npm run rebuild-projections` verifies and repairs the store
 * the running host serves, not an empty one of its own. Removed when the host stops.
 */
export function publishLocalReadStore(dataDir: string, address: { endpoint: string; key: string }): () => void {
  const file = join(dataDir, LOCAL_READ_STORE_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ ...address, pid: process.pid }), { mode: 0o600 });
  chmodSync(file, 0o600);
  // Only our own: a second start on this DATA_DIR that gives up must not withdraw the running host's store.
  return () => {
    if (findLocalReadStore(dataDir) && JSON.parse(readFileSync(file, 'utf8')).pid !== process.pid) return;
    rmSync(file, { force: true });
  };
}

/** The read store of a host running on `dataDir`, if one runs (a crashed host leaves a file whose process is gone). */
export function findLocalReadStore(dataDir: string): { endpoint: string; key: string } | undefined {
  let published: { endpoint?: unknown; key?: unknown; pid?: unknown };
  try {
    published = JSON.parse(readFileSync(join(dataDir, LOCAL_READ_STORE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof published.endpoint !== 'string' || typeof published.key !== 'string' || typeof published.pid !== 'number') return undefined;
  try {
    process.kill(published.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user; ESRCH: it is gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  if (hasExited(published.pid)) return undefined;
  return { endpoint: published.endpoint, key: published.key };
}

/**
 * A process that has exited but that its parent has not reaped yet (a zombie: Linux's
 * /proc gives its state as `Z`). A signal still finds it, so a host killed with `kill -9`
 * would otherwise hold its DATA_DIR until its supervisor waits for it. Elsewhere (no /proc):
 * false, as before.
 */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command's name, which is in parentheses and may hold anything.
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

// The service worker: the app shell (the page, its hashed script and style, the manifest and
// icon) is kept at install, so the app opens without a network; the API is never cached
// here (the app keeps its last answer itself, marked with its time).
const worker = self as unknown as ServiceWorkerGlobalScope;

const CACHE = 'farmacias-shell-v1';
const SHELL = ['/', '/manifest.webmanifest', '/icon.svg'];
/** A page that does not come within this falls back to the kept one, as if offline. */
const PAGE_TIMEOUT_MS = 4_000;

/** The page's own assets, read off the page itself: the build names them by content hash. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]);
}

worker.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL);
      const page = await cache.match('/');
      if (page) await cache.addAll(assetsOf(await page.text()));
      await worker.skipWaiting();
    })(),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await worker.clients.claim();
    })(),
  );
});

/**
 * The page's assets kept, and those of earlier builds let go once they are: the cache keeps
 * its name from build to build, so nothing else would ever delete them. Kept as they were
 * when the new ones cannot all be fetched (offline half-way).
 */
async function keepAssetsOf(cache: Cache, html: string): Promise<void> {
  const assets = assetsOf(html);
  if (!(await cache.addAll(assets).then(() => true, () => false))) return;
  for (const kept of await cache.keys()) {
    const path = new URL(kept.url).pathname;
    if (path.startsWith('/assets/') && !assets.includes(path)) await cache.delete(kept);
  }
}

/**
 * The network's answer when it comes in time (kept under `key` for next time; for the page,
 * its assets too); otherwise, or when the server fails (5xx), the kept one: the app then says
 * in its own words what the API answers. The shell's files that are not hashed (the page, the
 * manifest, the icon) change with a deployment under the same name, and sw.js, which names no
 * build, stays the same: kept first, they would never be fetched again.
 */
async function networkFirst(request: Request, key: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const fresh = await fetch(request, { signal: AbortSignal.timeout(PAGE_TIMEOUT_MS) });
    if (fresh.ok) {
      await cache.put(key, fresh.clone());
      if (key === '/') await keepAssetsOf(cache, await fresh.clone().text());
    }
    return fresh.status >= 500 ? ((await cache.match(key)) ?? fresh) : fresh;
  } catch {
    return (await cache.match(key)) ?? Response.error();
  }
}

/** The app is one page with hash routes: only a navigation to it is the shell (the manifest or the icon opened in a tab is not). */
const isShellPage = (url: URL) => url.pathname === '/' || url.pathname === '/index.html';

/** Hashed assets never change: the kept copy, else the network's (kept). */
async function asset(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const fresh = await fetch(request);
  if (fresh.ok) await cache.put(request, fresh.clone());
  return fresh;
}

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin || url.pathname.startsWith('/api/')) return;
  if (event.request.mode === 'navigate') {
    if (isShellPage(url)) event.respondWith(networkFirst(event.request, '/'));
  } else if (url.pathname.startsWith('/assets/')) event.respondWith(asset(event.request));
  else if (SHELL.includes(url.pathname)) event.respondWith(networkFirst(event.request, url.pathname));
});

export {};

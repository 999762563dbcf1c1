import { readFile, realpath } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { SECURITY_HEADERS } from '../shared/kernel/http';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The app may talk to its own origin only, run only its own script, and be framed by no
 * one; location and the camera (the barcode reader) for this origin alone. The static
 * site in Azure sends the same, but for the gateway added to `connect-src`
 * (tools/package-web.ts writes its staticwebapp.config.json from these).
 */
export const WEB_APP_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'geolocation=(self), camera=(self), microphone=(), payment=()',
  'cross-origin-opener-policy': 'same-origin',
};

export interface WebApp {
  /** The answer for a path outside /api/: a file of the built app, or a 404/405 in plain words. */
  serve(method: string, pathname: string): Promise<HttpResponseInit>;
}

function plain(status: number, text: string, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, body: text, headers: { ...WEB_APP_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } };
}

/**
 * Serves the built web app (`dist/web`) at `/`, as the static site does in Azure. Files are
 * read once and kept: the build names its assets by content hash, so they are cached for a
 * year; the page, the manifest and the service worker are revalidated every time.
 */
export function webApp(root: string): WebApp {
  const files = new Map<string, Promise<Buffer | undefined>>();
  const read = (path: string) => {
    let file = files.get(path);
    if (!file) {
      // A miss is not kept: a path per request (any text a client sends) would grow the map without bound.
      file = readInside(root, path).catch(() => {
        files.delete(path);
        return undefined;
      });
      files.set(path, file);
    }
    return file;
  };
  return {
    async serve(method, pathname) {
      if (method !== 'GET' && method !== 'HEAD') return plain(405, 'Método não permitido.', { allow: 'GET, HEAD' });
      let relative: string;
      try {
        relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
      } catch {
        return plain(400, 'Endereço inválido.');
      }
      const path = normalize(join(root, relative));
      if (relative.includes('\0') || !path.startsWith(root + sep)) return plain(404, 'Não encontrado.');
      const body = await read(path);
      if (!body) {
        const built = await read(join(root, 'index.html'));
        return plain(404, built ? 'Não encontrado.' : 'O aplicativo web não foi compilado: npm run build.');
      }
      // Judged on the resolved path: "/assets/..%2Findex.html" is the page, not a hashed asset.
      const immutable = path.startsWith(join(root, 'assets') + sep);
      return {
        status: 200,
        body: new Uint8Array(body),
        headers: {
          ...WEB_APP_HEADERS,
          'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        },
      };
    },
  };
}

/**
 * The file at `path` if its real path (symbolic links followed) is inside the root's real
 * path: a link in the build that leads elsewhere on the disk is not followed. Rejects
 * otherwise, as for a missing file.
 */
async function readInside(root: string, path: string): Promise<Buffer> {
  // The root resolved at each first read of a file, not once: it may be built, or relinked, after the host starts.
  const [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
  if (!real.startsWith(realRoot + sep)) throw new Error(`${path} lies outside the site`);
  return readFile(real);
}

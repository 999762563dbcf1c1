import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { webApp, type WebApp } from '../../local/web-app';
import { projectRoot } from '../../shared/kernel/project-root';

describe('the local host serves the built web app at /', () => {
  let root: string;
  let site: WebApp;
  before(() => {
    const parent = mkdtempSync(join(tmpdir(), 'web-app-'));
    root = join(parent, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(parent, 'secret.txt'), 'outside the site');
    site = webApp(root);
  });
  after(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  const header = (init: Awaited<ReturnType<WebApp['serve']>>, name: string) => (init.headers as Record<string, string>)[name];

  it('/ is the page, revalidated each time, under a content security policy of its own origin', async () => {
    const page = await site.serve('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(header(page, 'content-type'), 'text/html; charset=utf-8');
    assert.equal(header(page, 'cache-control'), 'no-cache');
    assert.match(header(page, 'content-security-policy'), /default-src 'self'; script-src 'self'/);
    assert.match(header(page, 'content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(header(page, 'x-content-type-options'), 'nosniff');
    assert.equal(Buffer.from(page.body as Uint8Array).toString(), '<!doctype html><title>app</title>');
  });

  it('hashed assets are cached for a year', async () => {
    const script = await site.serve('GET', '/assets/index-abc123.js');
    assert.equal(header(script, 'content-type'), 'text/javascript; charset=utf-8');
    assert.equal(header(script, 'cache-control'), 'public, max-age=31536000, immutable');
  });

  it('nothing outside the site: encoded dot segments, NUL and a bad escape are refused', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/index.html%00.js']) {
      const answer = await site.serve('GET', path);
      assert.equal(answer.status, 404, path);
      assert.doesNotMatch(String(answer.body), /outside the site/);
    }
    assert.equal((await site.serve('GET', '/%E0%A4%A')).status, 400);
    assert.equal((await site.serve('GET', '/missing.js')).status, 404);
  });

  it('writes are refused with 405 and Allow', async () => {
    const answer = await site.serve('POST', '/');
    assert.equal(answer.status, 405);
    assert.equal(header(answer, 'allow'), 'GET, HEAD');
  });

  it('review: only the files under /assets/ are immutable, however the path spells its way there', async () => {
    // "/assets/..%2Findex.html" decodes to "/assets/../index.html": the page, not an asset.
    const page = await site.serve('GET', '/assets/..%2Findex.html');
    assert.notEqual(header(page, 'cache-control'), 'public, max-age=31536000, immutable');
  });

  it('review: a path that found no file is not remembered (a miss per distinct path would grow without bound)', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await site.serve('GET', `/probe-${i}.js`)).status, 404);
    writeFileSync(join(root, 'probe-0.js'), 'late');
    assert.equal((await site.serve('GET', '/probe-0.js')).status, 200);
  });

  it('review: a symlink inside the site that leads outside it is not followed (404); one that stays inside is served', async () => {
    const outside = join(root, '..', 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'key.txt'), 'outside the site');
    symlinkSync(join(root, '..', 'secret.txt'), join(root, 'leak.txt'));
    symlinkSync(outside, join(root, 'assets', 'linked'));
    symlinkSync(join(root, 'index.html'), join(root, 'home.html'));
    for (const path of ['/leak.txt', '/assets/linked/key.txt']) {
      const answer = await site.serve('GET', path);
      assert.equal(answer.status, 404, path);
      assert.doesNotMatch(Buffer.from(answer.body as Uint8Array).toString(), /outside the site/, path);
    }
    assert.equal((await site.serve('GET', '/home.html')).status, 200);
  });

  it('review: a site whose root is itself a symlink is served (judged against the real root)', async () => {
    const linkedRoot = join(root, '..', 'linked-web');
    symlinkSync(root, linkedRoot);
    assert.equal((await webApp(linkedRoot).serve('GET', '/')).status, 200);
    assert.equal((await webApp(linkedRoot).serve('GET', '/leak.txt')).status, 404);
  });

  it('an unbuilt app says how to build it', async () => {
    const unbuilt = await webApp(join(root, 'nowhere')).serve('GET', '/');
    assert.equal(unbuilt.status, 404);
    assert.match(String(unbuilt.body), /npm run build/);
  });
});

describe('the built app is installable', () => {
  const built = join(projectRoot(), 'dist', 'web');
  it('its manifest names icons that exist, PNGs at the sizes they claim (192 and 512, one maskable)', () => {
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.webmanifest'), 'utf8')) as { icons: { src: string; sizes: string; type: string; purpose: string }[]; start_url: string; display: string };
    assert.equal(manifest.display, 'standalone');
    const pngs = manifest.icons.filter((icon) => icon.type === 'image/png');
    for (const icon of pngs) {
      const bytes = readFileSync(join(built, icon.src));
      assert.equal(bytes.subarray(1, 4).toString(), 'PNG', icon.src);
      // IHDR: width and height, big-endian, at bytes 16 and 20.
      assert.equal(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`, icon.sizes, icon.src);
    }
    assert.deepEqual([...new Set(pngs.map((icon) => icon.sizes))].sort(), ['192x192', '512x512']);
    assert.ok(pngs.some((icon) => icon.purpose === 'maskable'));
  });
});

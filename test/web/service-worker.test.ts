import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { HttpResponseInit } from '@azure/functions';
import type { Browser, Page } from 'playwright-core';
import { startLocalHost, type LocalHost } from '../../local/host';
import { webApp } from '../../local/web-app';
import { projectRoot } from '../../shared/kernel/project-root';
import { launchChromium, screenshot, skipUnlessChromium } from '../support/browser';
import { suiteNeeding } from '../support/suite';

/**
 * Review: the service worker keeps whatever a navigation answered as the app shell ("/"), and
 * hands a server error to the person instead of the kept shell.
 */
suiteNeeding('the service worker keeps the app shell and only it (review)', skipUnlessChromium(), () => {
  let host: LocalHost;
  let browser: Browser;
  let site = '';
  /** How the server answers: the built app, a server error, or too late for the worker (over its 4 s). */
  let mode: 'ok' | 'error' | 'slow' = 'ok';
  /** A later deployment's manifest and icon (the same service worker: sw.js names no build), when set. */
  let deployed: { manifest: string; icon: string } | undefined;
  /** A later build: the same files, its assets under other hashed names (next-main-…), when set. */
  let nextBuild = false;
  const built = webApp(join(projectRoot(), 'dist', 'web'));

  before(async () => {
    host = await startLocalHost({
      modules: [],
      port: 0,
      requestLog: false,
      webApp: {
        serve: async (method, path): Promise<HttpResponseInit> => {
          if (mode === 'error') return { status: 500, body: 'falha do servidor', headers: { 'content-type': 'text/plain; charset=utf-8' } };
          if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 5_000));
          if (deployed && path === '/manifest.webmanifest') return { status: 200, body: deployed.manifest, headers: { 'content-type': 'application/manifest+json', 'cache-control': 'no-cache' } };
          if (deployed && path === '/icon.svg') return { status: 200, body: deployed.icon, headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-cache' } };
          if (nextBuild && (path === '/' || path === '/index.html')) {
            const page = await built.serve(method, path);
            return { ...page, body: Buffer.from(page.body as Uint8Array).toString('utf8').replaceAll('/assets/main-', '/assets/next-main-') };
          }
          if (nextBuild && path.startsWith('/assets/next-main-')) return built.serve(method, path.replace('/assets/next-', '/assets/'));
          return built.serve(method, path);
        },
      },
    });
    site = host.url.replace(/\/api$/, '');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await host?.stop();
  });

  async function controlledPage(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${site}/`);
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await page.reload();
    assert.equal(await page.evaluate('Boolean(navigator.serviceWorker.controller)'), true);
    return page;
  }

  it('opening the manifest in a tab does not make it the app shell', async () => {
    const page = await controlledPage();
    await page.goto(`${site}/manifest.webmanifest`);
    mode = 'slow';
    try {
      await page.goto(`${site}/`);
      // The server too slow: the kept shell answers; it must still be the app, not the manifest's JSON.
      assert.equal(await page.locator('#app').count(), 1, await page.content());
      await screenshot(page, 'service-worker-shell-after-manifest');
    } finally {
      mode = 'ok';
      await page.context().close();
    }
  });

  it('a server error on the page falls back to the kept shell', async () => {
    const page = await controlledPage();
    mode = 'error';
    try {
      await page.goto(`${site}/`);
      assert.equal(await page.locator('#app').count(), 1, await page.content());
      await screenshot(page, 'service-worker-shell-on-server-error');
    } finally {
      mode = 'ok';
      await page.context().close();
    }
  });

  it('after a deployment that changes the manifest and the icon, the app gets the new ones, and the kept ones only offline', async () => {
    const page = await controlledPage();
    const manifestName = "fetch('/manifest.webmanifest').then((answer) => answer.json()).then((manifest) => manifest.name)";
    const icon = "fetch('/icon.svg').then((answer) => answer.text())";
    const kept = { name: await page.evaluate<string>(manifestName), icon: await page.evaluate<string>(icon) };
    deployed = { manifest: JSON.stringify({ name: 'Farmácias (nova versão)', start_url: '/' }), icon: '<svg xmlns="http://www.w3.org/2000/svg"><title>nova</title></svg>' };
    try {
      await page.reload();
      assert.equal(await page.evaluate<string>(manifestName), 'Farmácias (nova versão)');
      assert.equal(await page.evaluate<string>(icon), deployed.icon);
      // The server down: the copies kept at the last answer, so the app still opens offline.
      mode = 'error';
      assert.equal(await page.evaluate<string>(manifestName), 'Farmácias (nova versão)');
      mode = 'ok';
      deployed = undefined;
      assert.equal(await page.evaluate<string>(manifestName), kept.name);
    } finally {
      mode = 'ok';
      deployed = undefined;
      await page.context().close();
    }
  });

  it('after a deployment, the kept assets are the new build\'s only: the last build\'s are let go, and the app still opens offline', async () => {
    const page = await controlledPage();
    const keptAssets = () => page.evaluate<string[]>("caches.open('farmacias-shell-v1').then((cache) => cache.keys()).then((keys) => keys.map((key) => new URL(key.url).pathname).filter((path) => path.startsWith('/assets/')).sort())");
    const before = await keptAssets();
    assert.ok(before.length >= 2 && before.every((path) => path.startsWith('/assets/main-')), before.join());
    nextBuild = true;
    try {
      await page.reload();
      await page.getByRole('heading', { name: 'Onde está mais barato?' }).waitFor();
      assert.deepEqual(await keptAssets(), before.map((path) => path.replace('/assets/', '/assets/next-')));
      mode = 'error';
      await page.reload();
      await page.getByRole('heading', { name: 'Onde está mais barato?' }).waitFor();
    } finally {
      mode = 'ok';
      nextBuild = false;
      await page.context().close();
    }
  });
});

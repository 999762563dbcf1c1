import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, sidewaysOverflow, skipUnlessChromium } from '../support/browser';
import { suiteNeeding } from '../support/suite';
import { startWebHost } from '../support/web-host';

/**
 * A duplicated tab starts with a copy of its original's sessionStorage, so with the refresh
 * token of the same sign-in; the identity API revokes a sign-in whose used refresh token comes
 * back, so two tabs rotating it would sign both out (docs/web.md, "Tokens in the browser").
 */
suiteNeeding('a duplicated tab does not share the refresh token (review)', skipUnlessChromium(), () => {
  let web: Awaited<ReturnType<typeof startWebHost>>;
  let browser: Browser;
  const person = { name: 'Joana Duplicada', email: `duplicada-${randomUUID().slice(0, 8)}@example.com.br`, password: 'Duas-abas-abertas-2026' };

  before(async () => {
    web = await startWebHost();
    const registered = await web.host.dispatch('POST', 'auth/register', person);
    assert.ok(registered.status < 300, JSON.stringify(registered.body));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await web?.stop();
  });

  const greeting = (page: Page) => page.getByRole('heading', { name: `Olá, ${person.name}` });

  async function signIn(page: Page): Promise<void> {
    await page.getByLabel('E-mail', { exact: true }).first().fill(person.email);
    await page.getByLabel('Senha', { exact: true }).fill(person.password);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await greeting(page).waitFor();
  }

  /** What the browser does on "Duplicate tab": a new tab whose sessionStorage is a copy of the original's, before its page runs. */
  async function duplicate(context: BrowserContext, original: Page): Promise<Page> {
    const copied = await original.evaluate<[string, string][]>('Object.entries(sessionStorage)');
    const copy = await context.newPage();
    await copy.addInitScript(`
      if (location.origin === ${JSON.stringify(web.site)} && sessionStorage.length === 0) {
        for (const [key, value] of ${JSON.stringify(copied)}) sessionStorage.setItem(key, value);
      }`);
    return copy;
  }

  it('the duplicate drops its copy and asks to sign in; the original stays signed in across refreshes; a sign-in in the duplicate is its own', async () => {
    const context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const original = await context.newPage();
    await original.goto(`${web.site}/#/conta`);
    await signIn(original);

    const copy = await duplicate(context, original);
    await copy.goto(`${web.site}/#/conta`);
    await copy.getByRole('status').getByText('Sua sessão está aberta em outra aba').waitFor();
    await copy.getByRole('button', { name: 'Entrar' }).waitFor();
    assert.equal(await copy.evaluate("sessionStorage.getItem('farmacias:sessao')"), null, 'the duplicate kept the copied refresh token');
    assert.deepEqual(await accessibilityViolations(copy), []);
    assert.equal(await sidewaysOverflow(copy), 0, 'nothing wider than a 360 px phone');
    await screenshot(copy, 'account-duplicated-tab-360px');

    // A reload spends the refresh token again (the access token lives in memory only): had the duplicate used the copy, this would be a reuse and end the sign-in.
    for (let reload = 0; reload < 2; reload++) {
      await original.reload();
      await greeting(original).waitFor();
    }

    // Signed in again in the duplicate: a sign-in of its own, and neither tab ends the other's.
    await signIn(copy);
    await copy.reload();
    await greeting(copy).waitFor();
    await original.reload();
    await greeting(original).waitFor();
    await context.close();
  });

  it('a tab closed, its duplicate carries on with the copied sign-in', async () => {
    const context = await browser.newContext({ locale: 'pt-BR' });
    const original = await context.newPage();
    await original.goto(`${web.site}/#/conta`);
    await signIn(original);
    const copy = await duplicate(context, original);
    await original.close();
    await copy.goto(`${web.site}/#/conta`);
    await greeting(copy).waitFor();
    await copy.reload();
    await greeting(copy).waitFor();
    await screenshot(copy, 'tabs-duplicate-carries-on');
    await context.close();
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, sidewaysOverflow, skipUnlessChromium } from '../support/browser';
import { suiteNeeding } from '../support/suite';
import { startWebHost } from '../support/web-host';

suiteNeeding('the account in Chromium: register, my data, erase (LGPD)', skipUnlessChromium(), () => {
  let web: Awaited<ReturnType<typeof startWebHost>>;
  let browser: Browser;
  before(async () => {
    web = await startWebHost();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('register → signed in across a reload → my data → erase, with the consequences stated first', async () => {
    const email = `cliente-${randomUUID().slice(0, 8)}@example.com.br`;
    const password = 'Remedio-barato-2026';
    const context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    await page.goto(`${web.site}/#/conta`);
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await sidewaysOverflow(page), 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'account-sign-in-360px');

    await page.getByLabel('Nome').fill('Maria da Silva');
    await page.getByLabel('E-mail', { exact: true }).nth(1).fill(email);
    await page.getByLabel(/^Senha \(ao menos/).fill(password);
    await page.getByRole('button', { name: 'Criar conta' }).click();
    await page.getByRole('heading', { name: 'Olá, Maria da Silva' }).waitFor();

    // The refresh token outlives a reload of the tab (sessionStorage); the access token does not need to.
    await page.reload();
    await page.getByRole('heading', { name: 'Olá, Maria da Silva' }).waitFor();

    await page.getByRole('button', { name: 'Ver meus dados' }).click();
    const myData = page.locator('.my-data');
    await myData.waitFor();
    assert.match((await myData.textContent()) ?? '', new RegExp(`Maria da Silva.*${email.replace('.', '\\.')}`));
    assert.match((await myData.textContent()) ?? '', /Conta criada/);
    assert.equal(await page.getByRole('link', { name: 'Baixar meus dados (JSON)' }).getAttribute('download'), 'meus-dados-farmacias.json');
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await sidewaysOverflow(page), 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'account-my-data-360px');

    const erase = page.getByRole('button', { name: 'Excluir minha conta definitivamente' });
    assert.match((await page.locator('.card.danger').textContent()) ?? '', /não há como desfazer/);
    assert.equal(await erase.isDisabled(), true, 'not before the consequences are acknowledged');
    await page.getByLabel('Entendo que isto não pode ser desfeito').check();
    await erase.click();
    await page.getByRole('heading', { name: 'Conta excluída' }).waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'no token left on the phone');
    await screenshot(page, 'account-erased-360px');

    const login = await fetch(`${web.host.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
    });
    assert.equal(login.status, 400, 'the erased account cannot sign in');
    await context.close();
  });

  it('a wrong password is said in words; the form keeps what was typed', async () => {
    const context = await browser.newContext({ locale: 'pt-BR' });
    const page = await context.newPage();
    await page.goto(`${web.site}/#/conta`);
    await page.getByLabel('E-mail', { exact: true }).first().fill('ninguem@example.com.br');
    await page.getByLabel('Senha', { exact: true }).fill('nao-e-esta-senha');
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.getByRole('alert').getByText('E-mail ou senha incorretos.').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'account-wrong-password');
    assert.equal(await page.getByLabel('E-mail', { exact: true }).first().inputValue(), 'ninguem@example.com.br');
    await context.close();
  });
});

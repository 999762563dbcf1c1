import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { demoProducts } from '../../local/demo-products';
import { accessibilityViolations, launchChromium, screenshot, sidewaysOverflow, skipUnlessChromium } from '../support/browser';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { suiteNeeding } from '../support/suite';
import { startWebHost } from '../support/web-host';

const PLACE = { lat: -22.9519, lon: -43.1857 };
const DAY = 86_400_000;
const PRODUCTS_IN_LIST = 990;
const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(new Date());
const startOfToday = new Date(`${today}T00:00:00-03:00`).toISOString();
const listDay = new Date(Date.now() + 60 * DAY).toISOString().slice(0, 10);
const listValidUntil = new Date(`${listDay}T23:59:59-03:00`).toISOString();

suiteNeeding('the pharmacy portal in Chromium: reprice, hours, a 1 000-line price list', skipUnlessChromium(), () => {
  let web: Awaited<ReturnType<typeof startWebHost>>;
  let browser: Browser;
  let pharmacyId = '';
  let repricedName = '';
  const pharmacist = { email: `farmaceutica-${randomUUID().slice(0, 8)}@example.com.br`, password: 'Farmacia-Central-2026' };
  const gtins: string[] = [];

  const ok = async (answer: Promise<{ status: number; body: unknown }>) => {
    const { status, body } = await answer;
    assert.ok(status < 300, `${status} ${JSON.stringify(body)}`);
    return body as { id: string };
  };

  before(async () => {
    web = await startWebHost();
    pharmacyId = (await ok(web.asAdmin('POST', 'pharmacies', pharmacyBody({ tradeName: 'Drogaria Portal', location: PLACE })))).id;
    const base = demoProducts()[0];
    const productIds: string[] = [];
    // Registered 30 at a time: the catalogue is the setup, not what is tested.
    for (let i = 0; i < PRODUCTS_IN_LIST; i++) gtins.push(uniqueGtin());
    for (let start = 0; start < PRODUCTS_IN_LIST; start += 30) {
      const batch = gtins.slice(start, start + 30).map((gtin, k) => ok(web.asAdmin('POST', 'products', { ...base, name: `Portalina ${start + k} mg`, gtin })));
      productIds.push(...(await Promise.all(batch)).map((product) => product.id));
    }
    repricedName = 'Portalina 0 mg';
    const offer = (index: number, priceCents: number, extra: object = {}) => ({ pharmacyId, productId: productIds[index], priceCents, stock: 'in_stock', ...extra });
    // Offer 0: the one the pharmacist reprices by hand.
    await ok(web.asAdmin('POST', 'offers', offer(0, 2000, { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 30 * DAY).toISOString() })));
    // Offers 1–5 already hold what the list says (unchanged); 6–8 hold another price (updated).
    for (let i = 1; i <= 8; i++) await ok(web.asAdmin('POST', 'offers', offer(i, i <= 5 ? 1000 + i : 5000, { validFrom: startOfToday, validUntil: listValidUntil })));
    const user = await ok(web.host.dispatch('POST', 'auth/register', { ...pharmacist, name: 'Ana Farmacêutica' }));
    await ok(web.asAdmin('POST', `auth/users/${user.id}/roles`, { roles: ['pharmacist'], pharmacyIds: [pharmacyId] }));
    await web.services.bus.idle?.();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await web?.stop();
  });

  async function signedInPortal(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ locale: 'pt-BR', viewport });
    const page = await context.newPage();
    await page.goto(`${web.site}/#/conta`);
    await page.getByLabel('E-mail', { exact: true }).first().fill(pharmacist.email);
    await page.getByLabel('Senha', { exact: true }).fill(pharmacist.password);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.getByRole('heading', { name: 'Olá, Ana Farmacêutica' }).waitFor();
    await page.getByRole('link', { name: 'Portal', exact: true }).click();
    await page.getByRole('heading', { name: 'Perfil e serviços' }).waitFor();
    return page;
  }

  it('a pharmacist reprices an offer and the customer view shows the new price', async () => {
    const page = await signedInPortal();
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('tab', { name: 'Ofertas' }).click();
    const row = page.locator('ul.offers li', { hasText: repricedName });
    await row.getByLabel('Novo preço (R$)').fill('17,50');
    await row.getByRole('button', { name: 'Alterar preço' }).click();
    await row.getByText('agora R$ 17,50').waitFor();
    await screenshot(page, 'portal-offers-repriced');

    const customer = await (await browser.newContext({ locale: 'pt-BR', geolocation: { latitude: PLACE.lat, longitude: PLACE.lon }, permissions: ['geolocation'] })).newPage();
    await customer.goto(`${web.site}/`);
    await customer.getByRole('combobox', { name: 'Medicamento' }).fill('Portalina 0');
    await customer.getByRole('option', { name: new RegExp(`^${repricedName}`) }).click();
    await customer.getByRole('button', { name: 'Usar minha localização' }).click();
    await customer.locator('ol.offers li .price strong', { hasText: 'R$ 17,50' }).waitFor();
    await screenshot(customer, 'customer-sees-new-price');
  });

  it("opening hours refused by the API show the API's own message", async () => {
    const page = await signedInPortal();
    await page.getByLabel('Fecha (horário 1)').fill('25:00');
    await page.getByRole('button', { name: 'Salvar horários' }).click();
    await page.getByRole('alert').getByText(/closes must be HH:MM from 00:00 to 24:00/).waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'portal-hours-refused');
    // The tabs by keyboard: one tab stop, arrows move between them.
    await page.getByRole('tab', { name: 'Farmácia' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Ofertas' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate('document.activeElement.id'), 'aba-ofertas');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getByRole('tab', { name: 'Lista de preços (CSV)' }).getAttribute('aria-selected'), 'true');
  });

  it('on a 360 px phone every tab of the portal fits: nothing overflows sideways', async () => {
    const page = await signedInPortal({ width: 360, height: 740 });
    for (const tab of ['Farmácia', 'Ofertas', 'Lista de preços (CSV)']) {
      await page.getByRole('tab', { name: tab }).click();
      await page.getByRole('tabpanel').waitFor();
      assert.equal(await sidewaysOverflow(page), 0, `the ${tab} tab is wider than the phone`);
      assert.deepEqual(await accessibilityViolations(page), []);
      await screenshot(page, `portal-360px-${tab.split(' ')[0].toLowerCase()}`);
    }
    await page.context().close();
  });

  it('a price list of 1 000 lines with bad ones: preview, sent in chunks, a report per line, downloadable', async () => {
    const lines = ['gtin;preco;preco_tabela;estoque;validade'];
    gtins.forEach((gtin, i) => {
      const price = i >= 1 && i <= 5 ? 1000 + i : 1200 + (i % 300);
      lines.push(`${gtin};${(price / 100).toFixed(2).replace('.', ',')};;em_estoque;${listDay}`);
    });
    const bad = [
      `${uniqueGtin()};9,90;;em_estoque;${listDay}`, // not in the catalog
      `${uniqueGtin()};9,90;;em_estoque;${listDay}`,
      `${uniqueGtin()};9,90;;em_estoque;${listDay}`,
      `${gtins[10]};abc;;em_estoque;${listDay}`, // price
      `${gtins[11]};0;;em_estoque;${listDay}`,
      `${gtins[12]};-5,00;;em_estoque;${listDay}`,
      `${gtins[13]};9,90;;muito;${listDay}`, // stock
      `${gtins[14]};9,90;;talvez;${listDay}`,
      `${gtins[15]};9,90;;em_estoque;2020-01-31`, // past
      `${gtins[16]};9,90;;em_estoque;31/02/2030`, // no such day
    ];
    lines.push(...bad);
    assert.equal(lines.length - 1, 1000);

    const page = await signedInPortal();
    // The first chunk's first answer says the same request is still running (a retry after a
    // lost answer, while the first attempt runs): the app waits as asked and sends it again.
    let stillRunningAnswered = false;
    await page.route('**/api/offers/batch', async (route) => {
      if (stillRunningAnswered) return route.continue();
      stillRunningAnswered = true;
      await route.fulfill({
        status: 409,
        headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
        body: JSON.stringify({ type: 'about:blank', title: 'Request in progress', status: 409, detail: 'a request with this Idempotency-Key is still running' }),
      });
    });
    await page.getByRole('tab', { name: 'Lista de preços (CSV)' }).click();
    await page.getByLabel('Arquivo CSV').setInputFiles({ name: 'precos.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\r\n')) });
    await page.getByText('1000 linhas lidas; 993 prontas para enviar, 7 com erro (no relatório).').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('button', { name: 'Enviar 993 preços' }).click();
    const summary = page.locator('.report .summary');
    await summary.waitFor({ timeout: 90_000 });
    // 990 listed products: 1–5 unchanged; 0 (repriced above) and 6–8 updated; 9–989 new; the later lines for 10–16 are refused.
    assert.equal(await summary.textContent(), '981 novas, 4 atualizadas, 5 sem alteração, 10 recusadas.');
    assert.ok(stillRunningAnswered);
    assert.deepEqual(await accessibilityViolations(page), []);
    const refused = await page.locator('.report table tbody tr').allTextContents();
    assert.equal(refused.length, 10);
    assert.match(refused.join('\n'), /produto não encontrado no catálogo/);
    assert.match(refused.join('\n'), /estoque inválido: "muito"/);
    await screenshot(page, 'portal-price-list-report');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Baixar o relatório (CSV)' }).click()]);
    const report = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').split('\r\n');
    assert.equal(report[0], 'linha;gtin;resultado;motivo');
    assert.equal(report.length, 1001);
    assert.match(report[1002 - 10 - 1] ?? '', /recusada/);
  });

  it('review: the offers tab pages through all of a pharmacy\'s offers, a hundred at a time, by a button', async () => {
    // After the price list above the pharmacy has an offer for each of the 990 listed products.
    await web.services.bus.idle?.();
    const page = await signedInPortal();
    await page.getByRole('tab', { name: 'Ofertas' }).click();
    const rows = page.locator('ul.offers > li');
    const more = page.getByRole('button', { name: 'Mostrar mais ofertas' });
    await more.waitFor();
    assert.equal(await rows.count(), 100);
    await screenshot(page, 'portal-offers-first-page');
    await more.click();
    await rows.nth(199).waitFor();
    // The keyboard and a screen reader go on from the first offer just shown, and the count is announced.
    assert.equal(await page.evaluate('document.activeElement === document.querySelectorAll("ul.offers > li")[100]'), true);
    await page.getByRole('status').getByText('200 ofertas mostradas').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    for (let shown = 200; shown < PRODUCTS_IN_LIST; shown += 100) {
      await more.click();
      await rows.nth(Math.min(shown + 100, PRODUCTS_IN_LIST) - 1).waitFor();
    }
    await more.waitFor({ state: 'detached' });
    await page.getByRole('status').getByText('Todas as 990 ofertas mostradas').waitFor();
    const names = await rows.evaluateAll((items) => items.map((item) => item.firstElementChild?.firstChild?.textContent ?? ''));
    assert.equal(names.length, PRODUCTS_IN_LIST);
    assert.equal(new Set(names).size, PRODUCTS_IN_LIST, 'an offer shown twice');

    // A customer on the same pharmacy's page reads its offers 50 at a time, the same way.
    await page.goto(`${web.site}/#/farmacia/${pharmacyId}`);
    const offered = page.locator('article.pharmacy ul.offers > li');
    const moreOffered = page.getByRole('button', { name: 'Mostrar mais ofertas' });
    await moreOffered.waitFor();
    assert.equal(await offered.count(), 50);
    await moreOffered.click();
    await offered.nth(99).waitFor();
    assert.equal(await page.evaluate('document.activeElement === document.querySelectorAll("article.pharmacy ul.offers > li")[50]'), true);
    await page.getByRole('status').getByText('100 ofertas mostradas; há mais.').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
  });
});


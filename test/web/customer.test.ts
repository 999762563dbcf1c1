import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoProducts } from '../../local/demo-products';
import { accessibilityViolations, launchChromium, screenshot, sidewaysOverflow, skipUnlessChromium } from '../support/browser';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { suiteNeeding } from '../support/suite';
import { startWebHost } from '../support/web-host';

const PAULISTA = { lat: -23.5614, lon: -46.6559 };
const DAY = 86_400_000;
const WEEK = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A weekday that is not today in São Paulo: hours only on it make a pharmacy closed now. */
function notTodayInSaoPaulo(): (typeof WEEK)[number] {
  const today = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: 'America/Sao_Paulo' }).format(new Date()).toLowerCase();
  return WEEK[(WEEK.findIndex((day) => today.startsWith(day)) + 3) % 7];
}

suiteNeeding('the customer view in Chromium: search, where, cheapest first, open now, offline', skipUnlessChromium(), () => {
  let web: Awaited<ReturnType<typeof startWebHost>>;
  let browser: Browser;
  let site = '';
  const productName = `Lorazetil ${Date.now() % 100_000} mg`;
  const productGtin = uniqueGtin();
  // Cheapest first: the closed one is the cheapest of all, so the open-now filter shows.
  const pharmacies = [
    { name: 'Drogaria Fechada Agora', priceCents: 990, place: { lat: -23.5630, lon: -46.6540 }, closed: true },
    { name: 'Drogaria Mais Barata', priceCents: 1290, place: { lat: -23.5650, lon: -46.6600 }, closed: false },
    { name: 'Drogaria Do Meio', priceCents: 1450, place: { lat: -23.5605, lon: -46.6565 }, closed: false },
    { name: 'Drogaria Mais Cara', priceCents: 1875, place: { lat: -23.5700, lon: -46.6450 }, closed: false },
  ];

  before(async () => {
    web = await startWebHost();
    site = web.site;
    const product = await web.asAdmin('POST', 'products', { ...demoProducts()[0], name: productName, gtin: productGtin });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const productId = (product.body as { id: string }).id;
    const allWeek = WEEK.map((day) => ({ day, opens: '00:00', closes: '24:00' }));
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 30 * DAY).toISOString() };
    for (const pharmacy of pharmacies) {
      const hours = pharmacy.closed ? [{ day: notTodayInSaoPaulo(), opens: '01:00', closes: '02:00' }] : allWeek;
      const created = await web.asAdmin('POST', 'pharmacies', pharmacyBody({ tradeName: pharmacy.name, location: pharmacy.place, openingHours: hours }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const pharmacyId = (created.body as { id: string }).id;
      const offer = { pharmacyId, productId, priceCents: pharmacy.priceCents, listPriceCents: 2000, stock: 'in_stock', ...validity };
      const published = await web.asAdmin('POST', 'offers', offer);
      assert.equal(published.status, 201, JSON.stringify(published.body));
    }
    await web.services.bus.idle?.();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await web?.stop();
  });

  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${site}/`);
    return page;
  }

  async function pickProduct(page: Page) {
    await page.getByRole('combobox', { name: 'Medicamento' }).fill(productName.split(' ')[0]);
    await page.getByRole('option', { name: new RegExp(productName) }).click();
  }

  const names = (page: Page) => page.locator('ol.offers li .where > a:first-child').allTextContents();
  const prices = (page: Page) => page.locator('ol.offers li .price strong').allTextContents();

  it('location granted: the cheapest offers near, cheapest first, in reais, with discount and a maps link', async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation'], locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await open(context);
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.locator('ol.offers li').first().waitFor();
    assert.deepEqual(await names(page), pharmacies.map((pharmacy) => pharmacy.name));
    assert.deepEqual((await prices(page)).map((text) => text.replace(/\s/g, ' ')), ['R$ 9,90', 'R$ 12,90', 'R$ 14,50', 'R$ 18,75']);
    // Each offer says its pharmacy's hours today, in the pharmacy's own time zone.
    assert.deepEqual(await page.locator('ol.offers li .hours-today').allTextContents(), ['hoje: Fechada', 'hoje: 24 horas', 'hoje: 24 horas', 'hoje: 24 horas']);
    assert.match(await page.locator('ol.offers li').first().textContent() ?? '', /R\$\s20,00\s*−51%/);
    const maps = await page.getByRole('link', { name: 'Abrir no mapa' }).first().getAttribute('href');
    assert.match(maps ?? '', /^https:\/\/www\.google\.com\/maps\/search\/\?api=1&query=-23\.563/);
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await sidewaysOverflow(page), 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'customer-location-granted-360px');
    await context.close();
  });

  it('location refused: says so in words, and a neighbourhood from the list searches from there', async () => {
    const context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } });
    const page = await open(context);
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.getByText('A localização foi negada. Escolha um bairro na lista.').waitFor();
    await page.getByLabel('ou escolha um bairro').selectOption({ label: 'São Paulo – Paulista' });
    await page.locator('ol.offers li').first().waitFor();
    assert.equal((await names(page))[0], 'Drogaria Fechada Agora');
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'customer-location-refused-desktop');
    await context.close();
  });

  it('slow, failed, then retried: the wait is said to be slow, the refusal and its Retry-After in words, and the retry finds the offers', async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation'], locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await open(context);
    let answer: 'slow' | 'overloaded' | 'real' = 'slow';
    await page.route('**/api/products/*/offers?**', async (route) => {
      if (answer === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        return route.continue();
      }
      if (answer === 'overloaded') {
        return route.fulfill({ status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '7' }, body: JSON.stringify({ type: 'about:blank', title: 'Service unavailable', status: 503, detail: 'the read store is not answering' }) });
      }
      return route.continue();
    });
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.getByText('Está demorando mais que o normal; a conexão pode estar lenta.').waitFor();
    await screenshot(page, 'customer-slow-360px');
    await page.locator('ol.offers li').first().waitFor();
    answer = 'overloaded';
    await page.getByLabel('Abertas agora').check();
    const alert = page.getByRole('alert');
    await alert.getByText('O serviço está sobrecarregado ou em manutenção.').waitFor();
    await alert.getByText('Tente novamente em 7 segundos.').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'customer-failed-360px');
    answer = 'real';
    await alert.getByRole('button', { name: 'Tentar de novo' }).click();
    await page.locator('ol.offers li').first().waitFor();
    await context.close();
  });

  it('the start page, then a neighbourhood where no pharmacy sells it: the empty state says what to change', async () => {
    const context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await open(context);
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'customer-start-360px');
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.getByLabel('ou escolha um bairro').selectOption({ label: 'Belo Horizonte – Savassi' });
    await page.getByText('Nenhuma farmácia neste raio tem oferta deste medicamento.', { exact: false }).waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await sidewaysOverflow(page), 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'customer-empty-360px');
    await context.close();
  });

  it('open now: the closed pharmacy leaves the list; sorted by distance, the nearest comes first', async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation'], locale: 'pt-BR' });
    const page = await open(context);
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.locator('ol.offers li').first().waitFor();
    await page.getByLabel('Abertas agora').check();
    // Locators, not waitForFunction: the app's policy forbids the eval that polling a function needs.
    await page.locator('ol.offers li').nth(3).waitFor({ state: 'detached' });
    assert.deepEqual(await names(page), ['Drogaria Mais Barata', 'Drogaria Do Meio', 'Drogaria Mais Cara']);
    await page.getByLabel('Mais perto').check();
    await page.locator('ol.offers li').first().getByRole('link', { name: 'Drogaria Do Meio' }).waitFor();
    assert.deepEqual(await names(page), ['Drogaria Do Meio', 'Drogaria Mais Barata', 'Drogaria Mais Cara']);
    await screenshot(page, 'customer-open-now-by-distance');
    await context.close();
  });

  it("a pharmacy's page: hours with today marked, services and its offers", async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation'], locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await open(context);
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.getByRole('link', { name: 'Drogaria Mais Barata' }).click();
    await page.getByRole('heading', { name: 'Drogaria Mais Barata' }).waitFor();
    const today = page.locator('table.hours tr[aria-current="date"]');
    assert.equal(await today.count(), 1);
    assert.match((await today.textContent()) ?? '', /hoje\s*24 horas/);
    assert.match((await page.locator('ul.offers').textContent()) ?? '', new RegExp(`${productName}.*R\\$\\s12,90`));
    assert.deepEqual(await accessibilityViolations(page), []);
    assert.equal(await sidewaysOverflow(page), 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'pharmacy-page-360px');
    await context.close();
  });

  it("the camera reads the box's barcode and picks its product (BarcodeDetector, where the browser has it)", async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation', 'camera'], locale: 'pt-BR' });
    // Chromium on Linux has no BarcodeDetector: a stand-in reads the code the fake camera "shows".
    await context.addInitScript(`window.BarcodeDetector = class { async detect() { return [{ rawValue: ${JSON.stringify(productGtin)} }]; } };`);
    const page = await open(context);
    await page.getByRole('button', { name: 'Ler o código de barras' }).click();
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.locator('ol.offers li').first().waitFor();
    assert.equal(await page.getByRole('combobox', { name: 'Medicamento' }).inputValue(), productName);
    assert.equal((await names(page))[0], 'Drogaria Fechada Agora');
    await screenshot(page, 'customer-barcode');
    await context.close();
  });

  // Last: it stops the platform, as a phone finds it with no network.
  it('offline: a reload opens the app from the service worker and shows the last results, marked as saved', async () => {
    const context = await browser.newContext({ geolocation: { latitude: PAULISTA.lat, longitude: PAULISTA.lon }, permissions: ['geolocation'], locale: 'pt-BR' });
    const page = await open(context);
    await pickProduct(page);
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
    await page.locator('ol.offers li').first().waitFor();
    const online = await names(page);
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await web.host.stop();
    await page.reload();
    await page.getByText(/^Sem conexão: resultados salvos em \d{2}\/\d{2}\/\d{4}/).waitFor();
    assert.deepEqual(await names(page), online);
    assert.deepEqual(await accessibilityViolations(page), []);
    await screenshot(page, 'customer-offline-saved-results');
    await context.close();
  });
});

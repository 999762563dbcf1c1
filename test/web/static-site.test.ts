import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { demoProducts } from '../../local/demo-products';
import { WEB_APP_HEADERS } from '../../local/web-app';
import { projectRoot } from '../../shared/kernel/project-root';
import { packageFolder } from '../../tools/package';
import { buildWebPackage, gatewayOrigin, IMMUTABLE, staticWebAppConfig, type StaticWebAppConfig } from '../../tools/package-web';
import { launchChromium, screenshot, skipUnlessChromium } from '../support/browser';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { startGatewayStandIn, type GatewayStandIn } from '../support/gateway-stand-in';
import { suiteNeeding } from '../support/suite';
import { startWebHost } from '../support/web-host';

const GATEWAY = 'https://apim-farmacias-test.azure-api.net';

/** The smoke test speaks curl; scripts/services.sh installs it, and CI must have it. */
function curlMissing(): string | false {
  if (process.env.CI === 'true' || ['/usr/bin/curl', '/usr/local/bin/curl'].some((path) => existsSync(path))) return false;
  return 'curl is not installed: run scripts/services.sh as root (required under CI=true)';
}
const directivesOf = (policy: string) => policy.split(';').map((part) => part.trim());

describe('the static site\'s configuration (staticwebapp.config.json)', () => {
  it('sends the local host\'s headers, with the gateway as the one other origin the app may call', () => {
    const config = staticWebAppConfig(GATEWAY);
    const { 'content-security-policy': policy, 'cache-control': cache, ...others } = config.globalHeaders;
    const { 'content-security-policy': localPolicy, ...localOthers } = WEB_APP_HEADERS;
    assert.deepEqual(others, localOthers);
    assert.equal(cache, 'no-cache');
    const expected = directivesOf(localPolicy).map((directive) => (directive.startsWith('connect-src ') ? `${directive} ${GATEWAY}` : directive));
    assert.deepEqual(directivesOf(policy), expected);
    assert.deepEqual(
      config.routes.filter((route) => route.headers),
      [{ route: '/assets/*', headers: { 'cache-control': IMMUTABLE } }],
    );
  });

  /**
   * Attack review: Static Web Apps' own sign-in (`/.auth/login/github`, `/aad`) was on, as it
   * is by default, though the app grants such a sign-in nothing.
   */
  it('blocks Static Web Apps\' own sign-in and the rest of /.auth with a 404, as a route rule', async () => {
    const config = staticWebAppConfig(GATEWAY);
    const blocked = ['/.auth/login/github', '/.auth/login/aad', '/.auth/login/twitter', '/.auth/me', '/.auth/logout'];
    for (const path of blocked) assert.equal(config.routes.find((route) => routeMatches(route.route, path))?.statusCode, 404, path);
    const folder = mkdtempSync(join(tmpdir(), 'farmacias-static-config-'));
    writeFileSync(join(folder, 'index.html'), '<!doctype html><title>Farmácias</title>');
    writeFileSync(join(folder, 'staticwebapp.config.json'), JSON.stringify(config));
    const site = await serveStaticSite(folder);
    try {
      for (const path of blocked) {
        const answer = await fetch(`${site.origin}${path}?post_login_redirect_uri=/`, { redirect: 'manual' });
        assert.equal(answer.status, 404, path);
        assert.equal(answer.headers.get('content-security-policy'), config.globalHeaders['content-security-policy'], `${path}: the site's headers`);
      }
      assert.equal((await fetch(`${site.origin}/`)).status, 200, 'the app itself is served');
    } finally {
      await new Promise((resolve) => site.server.close(resolve));
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('writes only outside the repository or to a .package… folder at its top, since it empties the folder first', () => {
    const root = projectRoot();
    assert.equal(packageFolder(root, '.package-web'), join(root, '.package-web'));
    assert.equal(packageFolder(root, join(tmpdir(), 'site')), join(tmpdir(), 'site'));
    for (const refused of ['.', '..', '/', 'web', 'dist/web', '.package/../web']) assert.throws(() => packageFolder(root, refused), /--out/, refused);
  });

  it('takes an https origin only (http on the loopback address for tests); never a path, a query or credentials', () => {
    assert.equal(gatewayOrigin(`${GATEWAY}/`), GATEWAY);
    assert.equal(gatewayOrigin('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    for (const refused of ['http://apim.example', `${GATEWAY}/offers`, `${GATEWAY}/?x=1`, 'https://user:secret@apim.example', 'ftp://apim.example', '', undefined]) {
      assert.throws(() => gatewayOrigin(refused), /--gateway/, String(refused));
    }
  });

  it('takes a host name only: no wildcard that would open connect-src to any host, no CSP separator that would add a directive', () => {
    for (const refused of ['https://*', 'https://*.azure-api.net', `${GATEWAY};script-src`, `${GATEWAY},sandbox`, "https://apim'self'", 'https://apim$x.example']) {
      assert.throws(() => gatewayOrigin(refused), /--gateway/, refused);
    }
  });
});

/** The deployment's smoke test, with its exit status and what it printed. Not spawnSync: a site under test may answer from this process's event loop. */
function webSmoke(site: string, gateway: string, folder: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [join(projectRoot(), 'infra', 'scripts', 'web-smoke.sh'), site, gateway, folder], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Attack review: with no script named in index.html the smoke test ended, status 1, without a word. */
describe('the deployment\'s smoke test (infra/scripts/web-smoke.sh) on a folder that is not the build', () => {
  it('says what it looked for and where: no index.html, or one that names no assets/main-*.js', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'farmacias-not-the-build-'));
    try {
      const missing = await webSmoke('http://127.0.0.1:9', 'http://127.0.0.1:9', folder);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, new RegExp(`no ${join(folder, 'index.html')}: package the site first`));
      writeFileSync(join(folder, 'index.html'), '<!doctype html><script src="/app.js"></script>');
      const unnamed = await webSmoke('http://127.0.0.1:9', 'http://127.0.0.1:9', folder);
      assert.equal(unnamed.status, 1);
      assert.match(unnamed.stderr, new RegExp(`${join(folder, 'index.html')} names no script assets/main-<hash>\\.js`));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };

/** Whether a route rule names a path: exactly, or by its prefix when it ends in `*`. */
const routeMatches = (route: string, pathname: string) => (route.endsWith('*') ? pathname.startsWith(route.slice(0, -1)) : pathname === route);

/**
 * The built site served as Static Web Apps would from its config: global headers, route
 * headers, a route's status (the first that names the path), 404s; and its own sign-in,
 * on unless a route blocks it, which sends the visitor to the provider.
 */
async function serveStaticSite(folder: string): Promise<{ origin: string; apiRequests: number; server: Server }> {
  const config = JSON.parse(readFileSync(join(folder, 'staticwebapp.config.json'), 'utf8')) as StaticWebAppConfig;
  const site = { origin: '', apiRequests: 0, server: undefined as unknown as Server };
  site.server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://site').pathname;
    if (pathname.startsWith('/api/')) site.apiRequests += 1;
    const status = config.routes.find((route) => route.statusCode && routeMatches(route.route, pathname))?.statusCode;
    if (status) {
      response.writeHead(status, { 'content-type': 'text/plain', ...config.globalHeaders });
      response.end('Not found');
      return;
    }
    if (pathname.startsWith('/.auth/login/')) {
      response.writeHead(302, { location: `https://${pathname.slice('/.auth/login/'.length)}.example/authorize`, ...config.globalHeaders });
      response.end();
      return;
    }
    const path = normalize(join(folder, pathname === '/' ? 'index.html' : decodeURIComponent(pathname)));
    let body: Buffer | undefined;
    try {
      if (path.startsWith(folder + sep) && !path.endsWith('staticwebapp.config.json')) body = readFileSync(path);
    } catch {
      body = undefined;
    }
    const routeHeaders = config.routes.filter((route) => route.headers && routeMatches(route.route, pathname)).map((route) => route.headers);
    response.writeHead(body ? 200 : 404, Object.assign({ 'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' }, config.globalHeaders, ...routeHeaders));
    response.end(body ?? 'Not found');
  });
  await new Promise<void>((resolve) => site.server.listen(0, '127.0.0.1', resolve));
  site.origin = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
  return site;
}

suiteNeeding('the static site in Chromium, calling the APIs through the gateway (a stand-in for API Management)', skipUnlessChromium(), () => {
  let web: Awaited<ReturnType<typeof startWebHost>>;
  let gateway: GatewayStandIn;
  let site: Awaited<ReturnType<typeof serveStaticSite>>;
  let elsewhere: Awaited<ReturnType<typeof serveStaticSite>>;
  let browser: Browser;
  let folder = '';
  const productName = `Gatewaxol ${Date.now() % 100_000} mg`;
  const PAULISTA = { latitude: -23.5614, longitude: -46.6559 };
  const pharmacist = { email: `farmaceutica-${randomUUID().slice(0, 8)}@example.com.br`, password: 'Remedio-barato-2026', name: 'Bia Gateway' };
  let offerId = '';

  before(async () => {
    web = await startWebHost();
    const product = await web.asAdmin('POST', 'products', { ...demoProducts()[0], name: productName, gtin: uniqueGtin() });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const pharmacy = await web.asAdmin('POST', 'pharmacies', pharmacyBody({ tradeName: 'Drogaria Do Gateway', location: { lat: -23.5620, lon: -46.6550 } }));
    assert.equal(pharmacy.status, 201, JSON.stringify(pharmacy.body));
    const offer = await web.asAdmin('POST', 'offers', {
      pharmacyId: (pharmacy.body as { id: string }).id,
      productId: (product.body as { id: string }).id,
      priceCents: 1234,
      listPriceCents: 1500,
      stock: 'in_stock',
      validFrom: new Date(Date.now() - 86_400_000).toISOString(),
      validUntil: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    assert.equal(offer.status, 201, JSON.stringify(offer.body));
    offerId = (offer.body as { id: string }).id;
    const user = await web.host.dispatch('POST', 'auth/register', pharmacist);
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const bound = await web.asAdmin('POST', `auth/users/${(user.body as { id: string }).id}/roles`, { roles: ['pharmacist'], pharmacyIds: [(pharmacy.body as { id: string }).id] });
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    await web.services.bus.idle?.();
    // CORS allows exactly the site's origin, as apim.bicep is given the static site's origins.
    gateway = await startGatewayStandIn(web.host.url, () => [site.origin]);
    folder = mkdtempSync(join(tmpdir(), 'farmacias-static-site-'));
    buildWebPackage(projectRoot(), folder, gateway.origin);
    site = await serveStaticSite(folder);
    elsewhere = await serveStaticSite(folder);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.server.close(resolve));
    await new Promise((resolve) => elsewhere?.server.close(resolve));
    await gateway?.close();
    await web?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  async function searchNearPaulista(page: Page) {
    await page.getByRole('combobox', { name: 'Medicamento' }).fill(productName.split(' ')[0]);
    await page.getByRole('option', { name: new RegExp(productName) }).click();
    await page.getByRole('button', { name: 'Usar minha localização' }).click();
  }

  it('searches, registers and shows "my data" through the gateway, within the site\'s content security policy', async () => {
    const context = await browser.newContext({ geolocation: PAULISTA, permissions: ['geolocation'], locale: 'pt-BR', viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') refused.push(message.text());
    });
    await page.goto(`${site.origin}/`);
    await searchNearPaulista(page);
    await page.locator('ol.offers li').first().waitFor();
    assert.match((await page.locator('ol.offers li').first().textContent()) ?? '', /Drogaria Do Gateway/);
    await screenshot(page, 'static-site-search-through-gateway');

    // A JSON body and then a bearer token: both need the gateway's preflight to say yes.
    await page.goto(`${site.origin}/#/conta`);
    await page.getByLabel('Nome').fill('Joana Gateway');
    await page.getByLabel('E-mail', { exact: true }).nth(1).fill(`gateway-${randomUUID().slice(0, 8)}@example.com.br`);
    await page.getByLabel(/^Senha \(ao menos/).fill('Remedio-barato-2026');
    await page.getByRole('button', { name: 'Criar conta' }).click();
    await page.getByRole('heading', { name: 'Olá, Joana Gateway' }).waitFor();
    await page.getByRole('button', { name: 'Ver meus dados' }).click();
    await page.locator('.my-data').waitFor();
    assert.match((await page.locator('.my-data').textContent()) ?? '', /Joana Gateway/);

    assert.deepEqual(refused, [], 'no request refused by CORS or by the content security policy');
    assert.equal(site.apiRequests, 0, 'nothing asked of the static site\'s own /api/');
    assert.ok(gateway.forwarded >= 5, `the gateway carried the calls (${gateway.forwarded})`);
    await context.close();
  });

  it('a pharmacist reprices in the portal through the public product (no subscription), and a customer sees the price', async () => {
    const context = await browser.newContext({ geolocation: PAULISTA, permissions: ['geolocation'], locale: 'pt-BR', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${site.origin}/#/conta`);
    await page.getByLabel('E-mail', { exact: true }).first().fill(pharmacist.email);
    await page.getByLabel('Senha', { exact: true }).fill(pharmacist.password);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.getByRole('heading', { name: `Olá, ${pharmacist.name}` }).waitFor();
    await page.getByRole('link', { name: 'Portal', exact: true }).click();
    await page.getByRole('tab', { name: 'Ofertas' }).click();
    const row = page.locator('ul.offers li', { hasText: productName });
    await row.getByLabel('Novo preço (R$)').fill('11,11');
    await row.getByRole('button', { name: 'Alterar preço' }).click();
    await row.getByText('agora R$ 11,11').waitFor();
    await page.goto(`${site.origin}/`);
    await searchNearPaulista(page);
    await page.locator('ol.offers li .price strong', { hasText: 'R$ 11,11' }).waitFor();
    await screenshot(page, 'static-site-portal-reprice-through-gateway');
    await context.close();
  });

  it('refuses at the gateway a command without a staff sign-in, and the app refuses a forged one', async () => {
    const reprice = (authorization?: string) =>
      fetch(`${gateway.origin}/offers/offers/${offerId}/price`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: site.origin, ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ priceCents: 1 }),
      });
    const anonymous = await reprice();
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.headers.get('access-control-allow-origin'), site.origin, 'the page can read the refusal');
    assert.match(await anonymous.text(), /partners subscription/);
    const claims = (body: object) => `Bearer e30.${Buffer.from(JSON.stringify(body)).toString('base64url')}.c2ln`;
    assert.equal((await reprice(claims({ sub: 'x', roles: ['pharmacist'], client_id: 'partner-app' }))).status, 403, 'a partner machine uses its subscription');
    assert.equal((await reprice(claims({ sub: 'x', roles: [] }))).status, 403, 'a customer sends no commands');
    // Past the product's unverified read of the claims, the signature decides (validate-jwt, then the app).
    assert.equal((await reprice(claims({ sub: 'x', roles: ['pharmacist'] }))).status, 401);
  });

  it('the deployment\'s smoke test (infra/scripts/web-smoke.sh) passes on this site and fails on an origin CORS does not allow', { skip: curlMissing() }, async () => {
    const smoke = (origin: string) => webSmoke(origin, gateway.origin, folder);
    const passed = await smoke(site.origin);
    assert.equal(passed.status, 0, passed.stdout + passed.stderr);
    assert.match(passed.stdout, /web app at .* calling /);
    const refused = await smoke(elsewhere.origin);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /CORS refuses the site's origin/);
  });

  it('the same build on an origin the gateway does not allow gets no answer: CORS stops it in the browser', async () => {
    const context = await browser.newContext({ geolocation: PAULISTA, permissions: ['geolocation'], locale: 'pt-BR' });
    const page = await context.newPage();
    await page.goto(`${elsewhere.origin}/`);
    const carried = gateway.forwarded;
    await page.getByRole('combobox', { name: 'Medicamento' }).fill(productName.split(' ')[0]);
    await page.getByText('Sem conexão com o servidor.').first().waitFor();
    assert.ok(gateway.forwarded > carried, 'the gateway answered; the browser withheld the answer from the page');
    await screenshot(page, 'static-site-foreign-origin-refused');
    await context.close();
  });
});

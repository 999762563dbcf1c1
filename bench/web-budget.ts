// `npm run bench:web`: the customer view's budgets, measured against the local host with
// the demo data: the JavaScript it ships (gzipped, every script the page loads) and
// Lighthouse's scores with mobile emulation in Debian's Chromium. A script, not a test:
// it prints the figures and exits 1 when one is over budget.
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { seedDemoData } from '../local/demo-data';
import { webApp } from '../local/web-app';
import { projectRoot } from '../shared/kernel/project-root';
import { CHROMIUM } from '../test/support/browser';
import { runBench, withLocalPlatform } from './local-platform';

const JS_BUDGET_BYTES = 100 * 1024;
const MIN_SCORE = 90;
const CATEGORIES = ['performance', 'accessibility', 'best-practices'] as const;

// Lighthouse and chrome-launcher are ES modules only; this project compiles to CommonJS.
const importModule = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;

/** Every script the page loads, as the network carries it: gzipped. */
async function shippedJavaScript(site: string): Promise<{ file: string; gzipped: number }[]> {
  const page = await (await fetch(`${site}/`)).text();
  const scripts = [...page.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="([^"]+)"/g)].map((match) => match[1]);
  return Promise.all(
    scripts.map(async (file) => ({ file, gzipped: gzipSync(Buffer.from(await (await fetch(`${site}${file}`)).arrayBuffer()), { level: 9 }).length })),
  );
}

interface LighthouseResult {
  lhr: { categories: Record<string, { score: number | null }>; audits: Record<string, { displayValue?: string }> };
}

async function lighthouseScores(url: string): Promise<Record<string, number>> {
  const { launch } = await importModule<{ launch(options: object): Promise<{ port: number; kill(): Promise<void> }> }>('chrome-launcher');
  const { default: lighthouse } = await importModule<{ default(url: string, flags: object): Promise<LighthouseResult> }>('lighthouse');
  const chrome = await launch({
    chromePath: CHROMIUM,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // The default configuration: a mid-range phone on a slow 4G connection, throttled CPU.
    const { lhr } = await lighthouse(url, { port: chrome.port, onlyCategories: [...CATEGORIES], output: 'json', logLevel: 'error' });
    for (const audit of ['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift']) {
      console.log(`  ${audit.padEnd(26)} ${lhr.audits[audit]?.displayValue ?? '-'}`);
    }
    return Object.fromEntries(CATEGORIES.map((category) => [category, Math.round((lhr.categories[category]?.score ?? 0) * 100)]));
  } finally {
    await chrome.kill();
  }
}

runBench(async () => {
  await withLocalPlatform(
    'web-budget',
    {},
    async ({ host, asAdmin }) => {
      await seedDemoData(host, asAdmin.authorization.slice('Bearer '.length));
      const site = host.url.replace(/\/api$/, '');
      const scripts = await shippedJavaScript(site);
      const total = scripts.reduce((sum, script) => sum + script.gzipped, 0);
      for (const { file, gzipped } of scripts) console.log(`${file.padEnd(40)} ${(gzipped / 1024).toFixed(1)} KB gzipped`);
      console.log(`JavaScript shipped to the customer view: ${(total / 1024).toFixed(1)} KB gzipped (budget ${JS_BUDGET_BYTES / 1024} KB)`);
      console.log('Lighthouse, mobile emulation, the customer view:');
      const scores = await lighthouseScores(`${site}/`);
      for (const category of CATEGORIES) console.log(`  ${category.padEnd(26)} ${scores[category]} (budget ≥ ${MIN_SCORE})`);
      const over = [...(total > JS_BUDGET_BYTES ? ['JavaScript'] : []), ...CATEGORIES.filter((category) => scores[category] < MIN_SCORE)];
      if (over.length) throw new Error(`over budget: ${over.join(', ')}`);
    },
    undefined,
    webApp(join(projectRoot(), 'dist', 'web')),
  );
});

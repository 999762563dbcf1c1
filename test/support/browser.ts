import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { projectRoot } from '../../shared/kernel/project-root';

/** Debian's Chromium (`apt-get install chromium`): a browser tool's own download cannot run here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Skip with a message where Chromium is absent; under CI=true it must be there, so never skip. */
export function skipUnlessChromium(): string | false {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  return `Chromium is not installed at ${CHROMIUM}: run scripts/services.sh as root (apt-get install chromium) or set CHROMIUM_PATH (required under CI=true)`;
}

/**
 * Headless Chromium with nothing that calls home: this machine's network is closed, and a
 * test must not wait on Google's hosts.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // A fake camera (a test pattern) where a test grants the camera: no device, no prompt.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
}

/** Where screenshots go: CI keeps the folder as an artifact. */
export const ARTIFACTS = join(projectRoot(), 'test-artifacts', 'web');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * What axe-core finds on the page as it is now (WCAG 2.1 A and AA and best practices).
 * Evaluated through the DevTools protocol, which the page's content security policy does not
 * govern, so the app's own policy stays as strict in the test as in production.
 */
export async function accessibilityViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  return page.evaluate(`axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }).then((result) =>
    result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`);
}

/** How far the page is wider than its viewport (0 when nothing overflows sideways on a phone). */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

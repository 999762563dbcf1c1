import { existsSync, mkdirSync } from 'node:fs';
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
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where screenshots go: CI keeps the folder as an artifact. */
export const ARTIFACTS = join(projectRoot(), 'test-artifacts', 'web');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

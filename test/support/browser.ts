/** Debian's Chromium driven by playwright-core (no browser download), for the dashboard tests. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** CI installs Chromium (scripts/install-test-deps.sh); elsewhere a test says why it skipped. */
export const skipWithoutChromium = !CHROMIUM && !process.env.CI ? 'Chromium is not installed (apt-get install chromium)' : false;

export function launchChromium(args: string[] = []): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium must be installed in CI (scripts/install-test-deps.sh)');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] });
}

/** Screenshots of the main views, kept for review (test-results/ is git-ignored). */
export const SHOTS = process.env.PICAM_SCREENSHOTS ?? join(__dirname, '..', '..', 'test-results');

export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  mkdirSync(join(SHOTS, folder), { recursive: true });
  await page.screenshot({ path: join(SHOTS, folder, `${name}.png`), fullPage: true });
}

/**
 * The dashboard as an installable web app with alerts by Web Push, in Debian's Chromium
 * against a real cloud runtime (whose flow runs webpush-alert): the page names its manifest
 * (name, start URL, standalone, an icon), registers its service worker for /dashboard/, and
 * shows the bell once logged in. (Subscribing needs the browser vendor's push service, which
 * a test machine cannot reach; the subscription's own path is tested in
 * test/nodes/webpush-alert and test/e2e/alerts.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';

const dataDir = tempDir('picam-push-page-');

describe('the dashboard as a web app with Web Push', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud' })));
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Uncaught|manifest/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('names a manifest a browser installs from, and serves the service worker as JavaScript', async () => {
    const manifestUrl = new URL('manifest.webmanifest', `${runtime.url}/dashboard/`).toString();
    const page0 = await (await fetch(`${runtime.url}/dashboard/`)).text();
    assert.match(page0, /<link rel="manifest" href="manifest.webmanifest"/);
    const manifest = (await (await fetch(manifestUrl)).json()) as Record<string, any>;
    assert.equal(manifest.name, 'PiCam Guardian');
    assert.equal(manifest.display, 'standalone');
    assert.equal(new URL(manifest.start_url, manifestUrl).pathname, '/dashboard/');
    assert.ok(manifest.icons.length > 0);
    const icon = await fetch(new URL(manifest.icons[0].src, manifestUrl));
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    const sw = await fetch(`${runtime.url}/dashboard/sw.js`);
    assert.equal(sw.status, 200);
    assert.match(sw.headers.get('content-type') ?? '', /javascript/);
  });

  it('registers its service worker and shows the bell once logged in', async () => {
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const bell = page.locator('#push-toggle');
    await bell.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await bell.getAttribute('aria-pressed'), 'false');
    assert.match((await bell.textContent()) ?? '', /Alerts here: off/);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, `${runtime.url}/dashboard/`);
    assert.deepEqual(problems, [], 'no script errors, content security policy violations or manifest warnings');
  });
});

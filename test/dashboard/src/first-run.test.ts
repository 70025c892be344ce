/**
 * The first-run page (issue 23) in Debian's Chromium against a fresh cloud install (no API user,
 * no PICAM_DASHBOARD_USERS): it appears while no admin exists, makes the first admin and logs in
 * with it, and is gone from then on (the login shows instead).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RunningRuntime } from '../../../cli/runtime/runtime';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { startAccessCloud } from '../../support/access';

describe('the first-run page', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;

  before(async () => {
    ({ runtime } = await startAccessCloud({ PICAM_API_USER: '', PICAM_API_PASSWORD_HASH: '' }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('appears only while no admin exists, and makes the first admin', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByRole('heading', { name: 'Make the first admin' }).waitFor();
    assert.equal(await page.locator('#login-view').isVisible(), false);
    // From this machine itself: no code asked.
    assert.equal(await page.getByLabel("One-time code from the runtime's log").isVisible(), false);
    await page.getByLabel("Admin's name").fill('root');
    await page.getByLabel('Passphrase (8 characters or more)').fill('short');
    await page.getByRole('button', { name: 'Make admin and log in' }).click();
    // The browser's own check (minlength) or the server's: either way no admin yet.
    assert.equal(await page.locator('#app-view').isVisible(), false);
    await page.getByLabel('Passphrase (8 characters or more)').fill('root-password-1');
    await page.getByRole('button', { name: 'Make admin and log in' }).click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#user-name').textContent(), 'root');
    await page.getByRole('link', { name: 'Admin' }).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    const later = await (await browser.newContext()).newPage();
    await later.goto(`${runtime.url}/dashboard/`);
    await later.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await later.getByRole('heading', { name: 'Make the first admin' }).isVisible(), false, 'gone once an admin exists');
  });
});

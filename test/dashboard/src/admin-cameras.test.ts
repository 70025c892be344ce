/**
 * The Admin section's cameras (issue 23), in Chromium against a real cloud runtime: an admin
 * registers a VBC01 camera, opens the enrolment window and watches its countdown, closes it,
 * removes the camera (through the gateway's unregister), and the audit shows each change; a
 * viewer sees none of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningRuntime } from '../../../cli/runtime/runtime';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { dashboardUsers, startAccessCloud, VIEWER } from '../../support/access';
import { API_AUTH, LOGINS } from '../../support/cli';
import { waitFor } from '../../support/wait';

const VBC01 = '0123456789ABCDEF0123456789ABCDEF';

async function logIn(page: Page, url: string, who: { username: string; password: string }): Promise<void> {
  await page.goto(`${url}/dashboard/`);
  await page.getByLabel('User name').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

/** Registering a malformed camera id answers with the id's rule on the page. */
async function registerRefusesABadId(page: Page): Promise<void> {
  const register = page.getByRole('form', { name: 'Register a VBC01 camera' });
  await register.getByLabel('VBC01 camera id').fill('not-an-id');
  await register.getByRole('button', { name: 'Register' }).click();
  await page
    .locator('#camera-admin-result')
    .getByText(/32 upper-case hex digits/)
    .waitFor();
}

async function auditShows(page: Page, texts: string[]): Promise<void> {
  await waitFor(`the audit shows ${texts.join(', ')}`, async () => {
    await page.getByRole('button', { name: 'Refresh the audit' }).click();
    const text = (await page.locator('#audit-table').textContent()) ?? '';
    return texts.every((s) => text.includes(s)) ? true : undefined;
  });
}

describe('cameras on the Admin page', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;

  before(async () => {
    ({ runtime } = await startAccessCloud({
      PICAM_DASHBOARD_USERS: dashboardUsers([[VIEWER, 'viewer']]),
    }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('registers a VBC01 camera, counts the enrolment window down, removes the camera, and audits each', async () => {
    const page = await (await browser.newContext()).newPage();
    page.on('dialog', (d) => void d.accept());
    await logIn(page, runtime.url, LOGINS.api);
    await page.getByRole('link', { name: 'Admin' }).click();

    const register = page.getByRole('form', { name: 'Register a VBC01 camera' });
    await registerRefusesABadId(page);

    await register.getByLabel('VBC01 camera id').fill(VBC01);
    await register.getByRole('button', { name: 'Register' }).click();
    await page.getByText(`Camera ${VBC01} registered.`).waitFor();
    const row = page.locator(`#admin-camera-table tr[data-admin-camera="${VBC01}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /VBC01/);

    const enrol = page.getByRole('form', { name: 'Enrolment window' });
    await enrol.getByLabel('Open enrolment for (minutes)').fill('5');
    await enrol.getByRole('button', { name: 'Open enrolment' }).click();
    const state = page.locator('#enrolment-state');
    await state.getByText(/Enrolment open: closes in [45]:\d\d/).waitFor();
    const first = await state.textContent();
    await waitFor('the countdown ticks', async () => ((await state.textContent()) !== first ? true : undefined));
    // The runtime says so too, and a reload shows the same window.
    const listed = (await (await fetch(`${runtime.url}/api/gateway/cameras`, { headers: { authorization: API_AUTH } })).json()) as {
      enrolmentOpen: boolean;
      enrolmentClosesAt: string | null;
    };
    assert.equal(listed.enrolmentOpen, true);
    assert.ok(listed.enrolmentClosesAt && Date.parse(listed.enrolmentClosesAt) > Date.now());
    await page.reload();
    await page.getByRole('link', { name: 'Admin' }).click();
    await state.getByText(/Enrolment open: closes in [45]:\d\d/).waitFor();

    await page.getByRole('button', { name: 'Close enrolment' }).click();
    await state.getByText('Enrolment closed').waitFor();

    await row.getByRole('button', { name: `Remove ${VBC01}` }).click();
    await page.getByText(`Camera ${VBC01} removed.`).waitFor();
    await row.waitFor({ state: 'detached' });
    const after = (await (await fetch(`${runtime.url}/api/gateway/cameras`, { headers: { authorization: API_AUTH } })).json()) as {
      registered: { cameraId: string }[];
    };
    assert.deepEqual(after.registered, [], 'the gateway no longer knows the camera');

    await auditShows(page, ['POST /api/gateway/:command', 'register', 'enrolment', '"minutes":5', 'unregister', VBC01]);
  });

  it('keeps the Admin forms disabled until the Admin code has loaded, so nothing is submitted to nowhere', async () => {
    const page = await (await browser.newContext()).newPage();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/dashboard/chunks/admin-*.js', async (route) => {
      await released;
      await route.continue();
    });
    await logIn(page, runtime.url, LOGINS.api);
    await page.getByRole('link', { name: 'Admin' }).click();
    const register = page.getByRole('form', { name: 'Register a VBC01 camera' });
    await register.waitFor();
    assert.equal(await register.getByRole('button', { name: 'Register' }).isDisabled(), true, 'Register before the code came');
    assert.equal(await register.getByLabel('VBC01 camera id').isDisabled(), true);
    release();
    await page.locator('#admin-controls:not([disabled])').waitFor();
    await registerRefusesABadId(page);
    assert.equal(new URL(page.url()).search, '', 'no native submission');
    await page.close();
  });

  it('shows a viewer no camera administration, and the gateway refuses a viewer', async () => {
    const page = await (await browser.newContext()).newPage();
    await logIn(page, runtime.url, VIEWER);
    assert.equal(await page.locator('#admin-camera-table').isVisible(), false);
    assert.equal(await page.getByRole('form', { name: 'Enrolment window' }).isVisible(), false);
    const status = await page.evaluate(async (id) => {
      const s = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/api/gateway/unregister', {
        method: 'POST',
        headers: { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json', 'x-requested-with': 'picam-dashboard' },
        body: JSON.stringify({ cameraId: id }),
      });
      return res.status;
    }, VBC01);
    assert.equal(status, 403);
  });
});

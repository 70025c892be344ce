/**
 * Roles in the dashboard (issue 23), in Debian's Chromium against a real cloud runtime: a viewer
 * sees no Admin section and every request above a viewer's role (every route of the route table
 * that changes something, and the operator's and admin's reads) answers 403; an operator
 * changes a camera's mode but cannot open the enrolment window; an admin adds a user on the
 * Admin page who then logs in; the audit on the page shows each change. (The first-run page:
 * first-run.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningRuntime } from '../../../cli/runtime/runtime';
import { API_ROUTES, type ApiRoute } from '../../../nodes/lib/contract/api-routes';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { OPERATOR, startRolesCloud, VIEWER } from '../../support/access';
import { LOGINS } from '../../support/cli';
import { waitFor } from '../../support/wait';

const CAMERA = 'porch-pi';

/**
 * The changing routes a viewer may use: logging in and out, watching live video over WHEP,
 * and subscribing this browser to alerts. Every other non-GET route needs more; the test
 * checks this list against the table, so a new changing route cannot be a viewer's unnoticed.
 */
const VIEWER_CHANGES = [
  'POST /api/login',
  'POST /api/logout',
  'POST /api/first-run',
  'POST /api/live/:cameraId/whep',
  'DELETE /api/live/:cameraId/whep/:viewerId',
  'POST /api/push/subscriptions',
  'DELETE /api/push/subscriptions',
];

const key = (r: ApiRoute) => `${r.method} ${r.path}`;
const sampleUrl = (r: ApiRoute) => r.path.replace(/:(\w+)/g, (_m, name: string) => `${name}-1`);

async function logIn(page: Page, url: string, who: { username: string; password: string }): Promise<void> {
  await page.goto(`${url}/dashboard/`);
  await page.getByLabel('User name').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

/** A request from the page itself, with its session cookie and CSRF token, as the page's own code sends it. */
function pageRequest(page: Page, method: string, path: string): Promise<{ status: number; error?: string }> {
  return page.evaluate(
    async ([method, path]) => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch(path!, {
        method,
        headers: { 'x-csrf-token': session.csrfToken, 'content-type': 'application/json', 'x-requested-with': 'picam-dashboard' },
        body: method === 'GET' ? undefined : '{}',
      });
      const text = await res.text();
      let error: string | undefined;
      try {
        error = (JSON.parse(text) as { error?: string }).error;
      } catch {
        error = undefined;
      }
      return { status: res.status, error };
    },
    [method, path],
  );
}

describe('roles in the dashboard', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;

  before(async () => {
    ({ runtime } = await startRolesCloud(CAMERA));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('shows a viewer no admin page and refuses every request above a viewer with 403', async () => {
    const viewerChanges = API_ROUTES.filter((r) => r.method !== 'GET' && r.role === 'viewer').map(key);
    assert.deepEqual(viewerChanges.sort(), [...VIEWER_CHANGES].sort(), "the viewer's changing routes are the ones listed here");

    const page = await (await browser.newContext()).newPage();
    await logIn(page, runtime.url, VIEWER);
    await page.locator(`[data-camera="${CAMERA}"]`).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#nav-admin').isVisible(), false, 'no Admin link');
    assert.equal(await page.locator('#admin').isVisible(), false, 'no Admin section');
    assert.equal(await page.getByRole('button', { name: /Set .* to Armed/ }).count(), 0, 'no mode buttons for a viewer');

    const above = API_ROUTES.filter((r) => r.role !== 'viewer' || (r.method !== 'GET' && !VIEWER_CHANGES.includes(key(r))));
    assert.ok(above.length >= 25, `the routes a viewer may not use (${above.length})`);
    const answers: string[] = [];
    for (const r of above) {
      const { status, error } = await pageRequest(page, r.method, sampleUrl(r));
      if (status !== 403 || !/needs the (operator|admin) role; "vera" is a viewer/.test(error ?? ''))
        answers.push(`${key(r)}: ${status} ${error}`);
    }
    assert.deepEqual(answers, [], 'every one answers 403 with the reason');
  });

  it('lets an operator change a mode but not open the enrolment window', async () => {
    const page = await (await browser.newContext()).newPage();
    await logIn(page, runtime.url, OPERATOR);
    assert.equal(await page.locator('#nav-admin').isVisible(), false, 'no Admin link for an operator');
    await page.getByRole('button', { name: /Set .* to Armed/ }).click({ timeout: 30_000 });
    await page.getByText(/Sent "Armed"/).waitFor();
    const enrol = await pageRequest(page, 'POST', '/api/gateway/enrollment-open');
    assert.equal(enrol.status, 403);
    assert.match(enrol.error ?? '', /needs the admin role; "otto" is an operator/);
  });

  it('lets an admin add a user on the Admin page, who then logs in, and shows each change in the audit', async () => {
    const page = await (await browser.newContext()).newPage();
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await logIn(page, runtime.url, LOGINS.api);
    await page.locator('#camera-grid article').first().waitFor();
    // The admin lists wait until the section is opened: the first view does not queue behind them.
    assert.deepEqual(
      asked.filter((p) => ['/api/users', '/api/tokens', '/api/audit', '/api/settings/alerts'].includes(p)),
      [],
      'no admin list at login',
    );
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.locator('#user-table tr[data-user]').first().waitFor();
    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel("New user's name").fill('walt');
    await form.getByLabel('Passphrase').fill('walt-password-1');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByLabel('Cameras').fill(CAMERA);
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('User walt added.').waitFor();
    const row = page.locator('#user-table tr[data-user="walt"]');
    await row.waitFor();
    await row.getByLabel('Role of walt').selectOption('operator');
    await page.getByText('walt is now operator.').waitFor();

    const walt = await (await browser.newContext()).newPage();
    await logIn(walt, runtime.url, { username: 'walt', password: 'walt-password-1' });
    assert.equal(await walt.locator('#user-name').textContent(), 'walt');
    assert.equal(await walt.locator('#nav-admin').isVisible(), false);
    await walt.getByRole('button', { name: /Set .* to Privacy/ }).click({ timeout: 30_000 });
    await walt.getByText(/Sent "Privacy"/).waitFor();

    // The audit: the user added, the role changed, both operators' mode changes, with who did them.
    const audit = page.locator('#audit-table');
    await waitFor('every change in the audit', async () => {
      await page.getByRole('button', { name: 'Refresh the audit' }).click();
      const text = (await audit.textContent()) ?? '';
      return ['add user', 'change user', 'role operator', 'otto', 'POST /api/control/mode/:id/:mode', `${CAMERA} PRIVACY`].every((s) =>
        text.includes(s),
      )
        ? true
        : undefined;
    });
    const addRow = audit.locator('tr', { hasText: 'add user' }).filter({ hasText: 'walt' });
    assert.match((await addRow.textContent()) ?? '', /viewer.*admin.*add user.*walt/s, 'who (the API user, an admin) added walt');
    assert.ok(!((await audit.textContent()) ?? '').includes('walt-password-1'), 'no password in the audit');
  });
});

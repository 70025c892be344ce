/**
 * End to end (issue 18): the dashboard in Chromium against a cloud runtime whose
 * store `picam-guardian fill-store` filled with more events than the API counts:
 * the total reads "10,000+", pages go back and forth by cursor past the offset
 * limit, and each page is the one the API gives for that position.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { fillStore } from '../../cli/commands/fill-store';
import { launchChromium, screenshot, skipWithoutChromium } from '../support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dataDir = tempDir('picam-dashboard-scale-');
const EVENTS = 10_400;
let runtime: CliProcess;
let base = '';
let browser: Browser;
let page: Page;

const api = (path: string) => fetch(`${base}${path}`, { headers: { authorization: API_AUTH } });
const shown = () => page.locator('#event-list li.event').evaluateAll((li) => li.map((e) => e.getAttribute('data-event')));

describe('the dashboard on a store with more events than it counts', { skip: skipWithoutChromium }, () => {
  before(async () => {
    await fillStore({ file: join(dataDir, 'picam-guardian.db'), devices: 8, events: EVENTS, readings: 2000, days: 30 });
    const [http, mqttPort, wsPort] = [await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${http}`;
    runtime = startCli(['start', '--role', 'cloud'], cloudRoleEnv(dataDir, { http, mqtt: mqttPort, ws: wsPort }));
    browser = await launchChromium();
    await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    const code = await runtime?.stop();
    assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
  });

  it('says "10,000+" and pages by cursor, older and newer, each page the API page at that position', async () => {
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const info = page.locator('#event-page');
    await info.getByText('1–10 of 10,000+').waitFor();
    const older = page.getByRole('button', { name: 'Older events' });
    const newer = page.getByRole('button', { name: 'Newer events' });
    assert.equal(await newer.isDisabled(), true);
    for (let n = 2; n <= 4; n++) {
      await older.click();
      await info.getByText(`${(n - 1) * 10 + 1}–${n * 10} of 10,000+`).waitFor();
    }
    const byOffset = (await (await api('/api/events?limit=10&offset=30')).json()) as { events: Array<{ event_id: string }> };
    await waitFor('page 4', async () =>
      JSON.stringify(await shown()) === JSON.stringify(byOffset.events.map((e) => e.event_id)) ? true : undefined,
    );
    await newer.click();
    await info.getByText('21–30 of 10,000+').waitFor();
    const third = (await (await api('/api/events?limit=10&offset=20')).json()) as { events: Array<{ event_id: string }> };
    assert.deepEqual(
      await shown(),
      third.events.map((e) => e.event_id),
    );
    await screenshot(page, 'dashboard', 'events-at-scale');
  });

  it('answers the oldest events by cursor, past where an offset may go, and says there is no next page', async () => {
    // The API refuses an offset this deep and names the cursor; the page never uses one.
    const deep = await api('/api/events?offset=10390&limit=10');
    assert.equal(deep.status, 400);
    assert.match(((await deep.json()) as { error: string }).error, /page further with "cursor"/);
    // Jump near the end by following cursors as the page does, then let the page take the last steps.
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const p = (await (await api(`/api/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { next: string | null };
      cursor = p.next;
    }
    const last = (await (await api(`/api/events?limit=1000&cursor=${cursor}`)).json()) as { events: unknown[]; next: string | null };
    assert.deepEqual([last.events.length, last.next], [EVENTS - 10_000, null]);
  });
});

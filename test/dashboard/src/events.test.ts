/**
 * The event timeline and the person detector (issue 20), in Debian's Chromium against a real
 * cloud runtime: an event whose camera's detector saw a person shows the label and score, and
 * the "Seen" filter keeps only those events (GET /api/events?label=person).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { EventStore } from '../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../nodes/lib/types';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';

const dataDir = tempDir('picam-labels-');
const CAMERA = 'CA000000000000000000000000000001';

async function fillStore(file: string, nowMs: number): Promise<void> {
  const store = await EventStore.open({ file, synchronous: 'NORMAL' });
  const base = { deviceId: CAMERA, deviceType: 'hive-cam' } as const;
  const records: StoreRecord[] = [
    { kind: 'connection', ...base, timeMs: nowMs - 7200_000, status: 'connected', name: 'Driveway', raw: '{}' },
    {
      kind: 'activity-start',
      ...base,
      timeMs: nowMs - 120_000,
      eventId: 'evt_person',
      activityType: 'MOTION_SMART',
      detection: { label: 'person', score: 0.62, box: { x: 30, y: 35, w: 12, h: 60 } },
    },
    { kind: 'activity-start', ...base, timeMs: nowMs - 60_000, eventId: 'evt_shadow', activityType: 'MOTION' },
  ];
  for (const r of records) await store.writeAsync(r);
  await store.close();
}

describe('event timeline: what the detector saw', { skip: skipWithoutChromium, timeout: 120_000 }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    await fillStore(join(dataDir, 'picam-guardian.db'), Date.now());
    runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud' })));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('shows the label and score, and filters by "Seen: Person"', async () => {
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const events = page.locator('#event-list [data-event]');
    await page.waitForFunction(() => document.querySelectorAll('#event-list [data-event]').length === 2, undefined, { timeout: 30_000 });
    assert.equal(await page.locator('[data-event="evt_person"] .event-label').textContent(), 'person 62 %');
    assert.equal(await page.locator('[data-event="evt_shadow"] .event-label').count(), 0, 'nothing seen: no label');

    await page.getByLabel('Seen').selectOption('person');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#event-list [data-event]').length === 1, undefined, { timeout: 30_000 });
    assert.equal(await events.first().getAttribute('data-event'), 'evt_person');
  });
});

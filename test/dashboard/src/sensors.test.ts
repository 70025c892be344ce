/**
 * Sense HAT panels at fleet size, in Debian's Chromium against a real cloud runtime: with
 * 40 Pis, a panel builds its tiles, asks for its history and draws its three charts only once it
 * comes near the screen, showing the newest reading even if it came before. Before, every panel did both at once on the first view: at 200 Pis that was
 * 200 requests and 600 charts, each chart forcing a layout of the whole page, seconds
 * before the page answered a click (issue 18).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { API_PATHS } from '../../../nodes/lib/contract/api-routes';
import { EventStore } from '../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../nodes/lib/types';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { topics } from '../../support/fixtures';
import mqtt from 'mqtt';

const PIS = 40;
const dataDir = tempDir('picam-sensors-');
const piId = (i: number) => `picam-${String(i).padStart(2, '0')}`;

/** 40 connected Pis, each with readings over the last ten minutes. */
async function fillStore(file: string, nowMs: number): Promise<void> {
  const store = await EventStore.open({ file, synchronous: 'NORMAL' });
  const records: StoreRecord[] = [];
  for (let i = 0; i < PIS; i++) {
    const deviceId = piId(i);
    records.push({
      kind: 'connection',
      deviceId,
      deviceType: 'picam',
      timeMs: nowMs - 3600_000,
      status: 'connected',
      name: `Pi ${String(i).padStart(2, '0')}`,
      raw: '{}',
    });
    for (let m = 10; m > 0; m--)
      records.push({
        kind: 'sensor',
        deviceId,
        deviceType: 'picam',
        timeMs: nowMs - m * 60_000,
        temperature: 20 + i / 10,
        humidity: 40,
        pressure: 1010,
      });
  }
  await Promise.all(records.map((r) => store.writeAsync(r)));
  await store.close();
}

describe('the sensor panels of 40 Pis', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;
  let page: Page;
  let mqttUrl = '';
  /** the devices whose history the page asked for */
  const histories: string[] = [];

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
    await fillStore(join(dataDir, 'picam-guardian.db'), Date.now());
    runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud' })));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const prefix = API_PATHS.sensors.slice(0, API_PATHS.sensors.indexOf(':'));
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith(prefix)) histories.push(decodeURIComponent(path.slice(prefix.length)));
    });
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  const panel = (i: number) => page.locator(`section.sensor-panel[data-device="${piId(i)}"]`);

  it('loads and draws a panel when it comes near the screen, not all of them at the first view', async () => {
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await panel(PIS - 1).waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator('#event-list').waitFor({ state: 'attached' });
    await page.waitForLoadState('networkidle');
    // The sensors are below 40 cards: nothing of them is near the first screen.
    assert.equal(histories.length, 0, `no history asked for before a panel is near the screen: ${histories.join(' ')}`);
    assert.equal(await page.locator('#sensor-panels canvas').count(), 0, 'no chart drawn yet');
    // Nor built: a panel away from the screen is its heading (and its room) until it comes near.
    assert.equal(await page.locator('#sensor-panels .tiles').count(), 0, 'no tiles built yet');
    assert.equal(
      await panel(PIS - 1)
        .locator('h3')
        .textContent(),
      `Pi ${PIS - 1}`,
    );

    // A live reading for a panel not built yet: its tiles show it once built, not the older history.
    await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: 60_000 });
    const pi = await mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: piId(PIS - 1), reconnectPeriod: 0 });
    try {
      const reading = { timestamp: Math.floor(Date.now() / 1000), temperature: 31.5, humidity: 41, pressure: 1011 };
      await pi.publishAsync(topics.environment(piId(PIS - 1)), JSON.stringify(reading), { qos: 1 });
    } finally {
      await pi.endAsync();
    }

    await panel(20).scrollIntoViewIfNeeded();
    await panel(20).locator('canvas').nth(2).waitFor();
    await panel(20)
      .getByText(/^10 points; min 22\.0, max 22\.0 °C$/)
      .waitFor();
    assert.equal(await panel(20).locator('dd[data-metric="temperature"]').textContent(), '22.0', 'its latest reading');
    assert.ok(histories.includes(piId(20)));
    assert.ok(!histories.includes(piId(0)) && !histories.includes(piId(PIS - 1)), `far panels wait: ${histories.join(' ')}`);
    assert.equal(await panel(0).locator('canvas').count(), 0);

    // Scrolled to, the last one is drawn too; each history is asked for once.
    await panel(PIS - 1).scrollIntoViewIfNeeded();
    await panel(PIS - 1)
      .locator('canvas')
      .nth(2)
      .waitFor();
    await page.waitForFunction(
      (id) => document.querySelector(`section[data-device="${id}"] dd[data-metric="temperature"]`)?.textContent === '31.5',
      piId(PIS - 1),
      { timeout: 30_000 },
    );
    assert.equal(new Set(histories).size, histories.length, `one request per panel: ${histories.join(' ')}`);
  });
});

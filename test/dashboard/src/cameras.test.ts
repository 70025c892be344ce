/**
 * The camera grid at fleet size, in Debian's Chromium against a real cloud runtime on a store
 * of 600 devices: every card shows its device's latest event, drawn from GET /api/cameras
 * alone. Before, the page asked GET /api/events?camera=X&limit=1 once per device: 600 requests
 * in a row, 17 s at a year's history (issue 18). And the page paints a screen of cards first and
 * builds the rest afterwards (600 cards in one task came to about a second before any paint), with
 * every card up to date with the live feed whether it was built before or after a message came.
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
import { activity, topics } from '../../support/fixtures';
import { waitFor } from '../../support/wait';
import mqtt from 'mqtt';

const DEVICES = 600;
const dataDir = tempDir('picam-grid-');
/** VBC01 ids (32 upper-case hex digits), so the broker takes their live messages too */
const deviceId = (i: number) => `CA${String(i).padStart(30, '0')}`;

/** 600 connected devices, each with an older MOTION event and a newer one whose type names the device. */
async function fillStore(file: string, nowMs: number): Promise<void> {
  const store = await EventStore.open({ file, synchronous: 'NORMAL' });
  const records: StoreRecord[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = deviceId(i);
    records.push({
      kind: 'connection',
      deviceId: id,
      deviceType: 'hive-cam',
      timeMs: nowMs - 7200_000,
      status: 'connected',
      name: `Cam ${i}`,
      raw: '{}',
    });
    for (const [eventId, type, ago] of [
      [`${id}-old`, 'MOTION', 3600_000],
      [`${id}-new`, i % 2 ? 'PERSON' : 'VEHICLE', 60_000],
    ] as const)
      records.push({ kind: 'activity-start', deviceId: id, deviceType: 'hive-cam', timeMs: nowMs - ago, eventId, activityType: type });
  }
  await Promise.all(records.map((r) => store.writeAsync(r)));
  await store.close();
}

describe('the camera grid with 600 devices', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;
  let page: Page;
  let mqttUrl = '';
  /** every /api request the page made, as METHOD path?query */
  const requests: string[] = [];

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
    await fillStore(join(dataDir, 'picam-guardian.db'), Date.now());
    runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud' })));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Each frame the page paints: how many cards it holds (the page's own frames, counted in the page).
    await page.addInitScript(`(() => {
      const counts = (window.__cardsPerFrame = []);
      const frame = () => {
        const grid = document.getElementById('camera-grid');
        if (grid) counts.push(grid.querySelectorAll('[data-camera]').length);
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    })()`);
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/')) requests.push(`${r.method()} ${url.pathname}${url.search}`);
    });
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it("draws every card with its device's latest event from one camera list, not one request per device", async () => {
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`article[data-camera="${deviceId(DEVICES - 1)}"]`).waitFor({ timeout: 60_000 });
    // Each card's "Last event": the newer of its two events, by type.
    const lastEvents = await page.waitForFunction(
      (n) => {
        const shown = Array.from(document.querySelectorAll('article.camera')).map((card) => {
          const dt = Array.from(card.querySelectorAll('dt')).find((d) => d.textContent === 'Last event');
          return [card.getAttribute('data-camera'), dt?.nextElementSibling?.textContent ?? ''];
        });
        return shown.length === n && shown.every(([, text]) => text !== 'none') ? shown : undefined;
      },
      DEVICES,
      { timeout: 60_000 },
    );
    const shown = new Map((await lastEvents.jsonValue()) as Array<[string, string]>);
    assert.equal(shown.size, DEVICES);
    for (let i = 0; i < DEVICES; i++)
      assert.match(shown.get(deviceId(i)) ?? '', new RegExp(`^${i % 2 ? 'PERSON' : 'VEHICLE'} · `), deviceId(i));

    const cameraLists = requests.filter((r) => r === `GET ${API_PATHS.cameras}`);
    const perDevice = requests.filter((r) => r.startsWith(`GET ${API_PATHS.events}?`) && /[?&]camera=/.test(r));
    // The grid's one list; an admin's Admin › Cameras page reads it once more (whatever the number of devices).
    assert.ok(cameraLists.length <= 2, `one camera list for the grid (and one for the admin page):\n${requests.join('\n')}`);
    assert.deepEqual(perDevice, [], 'no event request per device');
    // The whole first view (session, grid, event list, sensors, health) asks a few things, whatever the device count;
    // an admin's Admin section loads its own lists beside it (users, tokens, audit, cameras, settings, disk use).
    assert.ok(requests.length < 30, `a handful of requests for ${DEVICES} devices, not one per device:\n${requests.join('\n')}`);
  });

  it('shows a screen of cards first and builds the rest in later tasks, each up to date with the live feed', async () => {
    // The page's timers are held: what the first task after the camera list drew stays on the page.
    await page.clock.install();
    await page.clock.pauseAt(Date.now() + 1000);
    const feedFrames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => feedFrames.push(String(f.payload))));
    await page.reload();
    await page.locator(`article[data-camera="${deviceId(0)}"]`).waitFor({ timeout: 60_000 });
    const shown = () => page.locator('#camera-grid [data-camera]').count();
    const first = await shown();
    assert.ok(first >= 12 && first < DEVICES, `a screen of cards first, not all ${DEVICES} in one task: ${first}`);
    // A live event for a device whose card is not built yet: the card shows it once built.
    await page.locator('#feed-state[data-state="live"]').waitFor();
    const last = deviceId(DEVICES - 1);
    const device = await mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: last, reconnectPeriod: 0 });
    try {
      await device.publishAsync(topics.start(last), JSON.stringify(activity(`${last}-live`, Math.floor(Date.now() / 1000), 'ANIMAL')), {
        qos: 1,
      });
    } finally {
      await device.endAsync();
    }
    await waitFor('the event on the live feed', async () => (feedFrames.some((f) => f.includes(`${last}-live`)) ? true : undefined));
    assert.equal(await shown(), first, 'no card was built meanwhile');
    await page.clock.runFor(10_000);
    await page.locator(`article[data-camera="${last}"]`).waitFor();
    assert.equal(await shown(), DEVICES);
    await page.waitForFunction(
      (id) => /^ANIMAL · /.test(document.querySelector(`article[data-camera="${id}"] dd:nth-of-type(2)`)?.textContent ?? ''),
      last,
      { timeout: 30_000 },
    );
    // The event filter lists every camera once the grid is built.
    await page.waitForFunction((n) => document.querySelectorAll('#filter-camera option').length === n + 1, DEVICES);
  });
});

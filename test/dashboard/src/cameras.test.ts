/**
 * The camera grid at fleet size, in Debian's Chromium against a real cloud runtime on a store
 * of 600 devices. The grid is paged: its first page is painted from a page of GET /api/cameras
 * (written into the page by the server for a logged-in visit), the whole list follows
 * for the other pages, the search, the sensors and the event filter, and every card shows its
 * device's latest event from that list alone. Before: one GET /api/events?camera=X&limit=1 per
 * device, 600 requests in a row, 17 s at a year's history; then all 600 cards built on one
 * page, a second of the browser's time and 30,000 elements to lay out on every change (issue 18).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { API_PATHS } from '../../../nodes/lib/contract/api-routes';
import { CAMERA_PAGE, FIRST_VIEW_REQUESTS } from '../../../nodes/lib/contract/first-view';
import { EventStore } from '../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../nodes/lib/types';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { activity, topics } from '../../support/fixtures';
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

  const login = async () => {
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    // Counted from the login: the logged-out visit asked for its session (401).
    requests.length = 0;
    await page.getByRole('button', { name: 'Log in' }).click();
  };
  const pageInfo = (p: Page) => p.locator('#camera-page');
  /** Each shown card's id and "Last event" text. */
  const shownCards = () =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('#camera-grid article.camera')).map((card) => {
        const dt = Array.from(card.querySelectorAll('dt')).find((d) => d.textContent === 'Last event');
        return [card.getAttribute('data-camera') ?? '', dt?.nextElementSibling?.textContent ?? ''] as [string, string];
      }),
    );

  it("pages through every card with its device's latest event, from one page request and one whole list", async () => {
    await login();
    await page.locator('#camera-page', { hasText: `Cameras 1–${CAMERA_PAGE} of ${DEVICES}` }).waitFor({ timeout: 60_000 });
    // The search waits for the whole list; once it is there, every page is at hand.
    await page.locator('#camera-find:not([disabled])').waitFor({ timeout: 60_000 });
    const shown = new Map<string, string>();
    for (let p = 0; p < Math.ceil(DEVICES / CAMERA_PAGE); p++) {
      if (p > 0) await page.getByRole('button', { name: 'Next cameras' }).click();
      const from = p * CAMERA_PAGE + 1;
      const to = Math.min(DEVICES, from + CAMERA_PAGE - 1);
      await pageInfo(page)
        .filter({ hasText: `Cameras ${from}–${to} of ${DEVICES}` })
        .waitFor();
      const cards = await shownCards();
      assert.equal(cards.length, to - from + 1, `page ${p + 1}`);
      for (const [id, text] of cards) shown.set(id, text);
    }
    assert.ok(await page.getByRole('button', { name: 'Next cameras' }).isDisabled(), 'no page after the last');
    assert.equal(shown.size, DEVICES, 'every device on exactly one page');
    for (let i = 0; i < DEVICES; i++)
      assert.match(shown.get(deviceId(i)) ?? '', new RegExp(`^${i % 2 ? 'PERSON' : 'VEHICLE'} · `), deviceId(i));

    const pageRequests = requests.filter((r) => r === `GET ${API_PATHS.cameras}?limit=${CAMERA_PAGE}`);
    const cameraLists = requests.filter((r) => r === `GET ${API_PATHS.cameras}`);
    const perDevice = requests.filter((r) => r.startsWith(`GET ${API_PATHS.events}?`) && /[?&]camera=/.test(r));
    assert.equal(pageRequests.length, 1, `one first page:\n${requests.join('\n')}`);
    // The grid's whole list; an admin's Admin › Cameras page reads it once more (whatever the number of devices).
    assert.ok(cameraLists.length >= 1 && cameraLists.length <= 2, `the whole list once for the grid:\n${requests.join('\n')}`);
    assert.deepEqual(perDevice, [], 'no event request per device');
    // Paging asks the server nothing: the pages come from the whole list.
    assert.ok(requests.length < 30, `a handful of requests for ${DEVICES} devices, not one per device or page:\n${requests.join('\n')}`);
    // Never more cards in the page than a page holds, in any frame since the start.
    const most = await page.evaluate(() => Math.max(...(window as unknown as { __cardsPerFrame: number[] }).__cardsPerFrame));
    assert.equal(most, CAMERA_PAGE);
  });

  it("writes the first view's answers into a logged-in page: a reload asks for none of them, and its script is cached for good", async () => {
    // The new document's requests only: the old one may still ask for something while the reload starts.
    let committed = false;
    const sent: string[] = [];
    const scripts: string[] = [];
    const onRequest = (r: { url(): string; method(): string; resourceType(): string }) => {
      const url = new URL(r.url());
      if (!committed) return;
      if (url.pathname.startsWith('/api/')) sent.push(`${r.method()} ${url.pathname}${url.search}`);
      if (r.resourceType() === 'script') scripts.push(url.pathname.replace(/^.*\/dashboard\//, ''));
    };
    page.once('framenavigated', () => (committed = true));
    page.on('request', onRequest);
    try {
      await page.reload();
      await page.locator('#camera-page', { hasText: `Cameras 1–${CAMERA_PAGE} of ${DEVICES}` }).waitFor({ timeout: 60_000 });
      await page.locator('#event-list li.event').first().waitFor();
      await page.locator('#camera-find:not([disabled])').waitFor({ timeout: 60_000 });
    } finally {
      page.off('request', onRequest);
    }
    for (const path of FIRST_VIEW_REQUESTS) {
      assert.ok(!sent.includes(`GET ${path}`), `${path} taken from the page, not asked for:\n${sent.join('\n')}`);
    }
    // The script and the chunks it imports, named in the HTML so they load beside it. Charts (uPlot), the Admin
    // section and recordings' player (hls.js) load when they are needed.
    const html = await (await fetch(`${runtime.url}/dashboard/`)).text();
    const preloaded = [...html.matchAll(/rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]!);
    const script = /<script type="module" src="([^"]+)">/.exec(html)?.[1] ?? '';
    assert.match(script, /^app-[A-Z0-9]{8}\.js$/, 'named by its content');
    assert.ok(preloaded.length > 0, 'the HTML names the chunks the script imports');
    assert.deepEqual([...new Set(scripts)].sort(), [script, ...preloaded].sort());
    for (const file of [script, ...preloaded]) {
      const res = await fetch(`${runtime.url}/dashboard/${file}`);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', file);
    }
  });

  it('shows a live event on the card of a device on another page once that page is shown, and finds it by name', async () => {
    await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: 60_000 });
    const last = deviceId(DEVICES - 1);
    assert.equal(await page.locator(`article[data-camera="${last}"]`).count(), 0, 'not on the first page');
    const feedFrames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => feedFrames.push(String(f.payload))));
    const device = await mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: last, reconnectPeriod: 0 });
    try {
      await device.publishAsync(topics.start(last), JSON.stringify(activity(`${last}-live`, Math.floor(Date.now() / 1000), 'ANIMAL')), {
        qos: 1,
      });
    } finally {
      await device.endAsync();
    }
    // Its name, typed in any case with spaces around it: the one card.
    await page.getByLabel('Find a camera').fill(`  cam ${DEVICES - 1} `);
    await pageInfo(page)
      .filter({ hasText: `1 of ${DEVICES} cameras matches` })
      .waitFor();
    await page.waitForFunction(
      (id) => /^ANIMAL · /.test(document.querySelector(`article[data-camera="${id}"] dd:nth-of-type(2)`)?.textContent ?? ''),
      last,
      { timeout: 30_000 },
    );
    assert.deepEqual(
      (await shownCards()).map(([id]) => id),
      [last],
    );
    await page.getByLabel('Find a camera').fill('no such camera');
    await page.locator('#camera-grid .empty', { hasText: 'No camera matches' }).waitFor();
    await page.getByLabel('Find a camera').fill('');
    await pageInfo(page)
      .filter({ hasText: `Cameras 1–${CAMERA_PAGE} of ${DEVICES}` })
      .waitFor();
    // The event filter lists every camera, not only the page's.
    await page.waitForFunction((n) => document.querySelectorAll('#filter-camera option').length === n + 1, DEVICES);
  });
});

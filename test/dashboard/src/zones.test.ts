/**
 * The masks-and-zones editor (dashboard/src/zones.ts) in Debian's Chromium against a real cloud
 * runtime: a user opens a Pi camera's editor, sees its picture (a JPEG ffmpeg rendered, served as
 * the camera's preview), draws a zone and a mask by clicking, is told what is wrong with a zone
 * without a name, saves, and the Pi gets the polygons over MQTT in percent of the picture; the
 * zones are there again after a reload, and the timeline shows the zones of an event.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import type { ZonePolygon } from '../../../nodes/lib/contract/zones';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS } from '../../support/cli';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { connected, topics } from '../../support/fixtures';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const PI = 'picam-zones';
const dataDir = tempDir('picam-zones-page-');
const skip = skipWithoutChromium || skipWithoutFfmpeg;

describe('the masks-and-zones editor', { skip }, () => {
  let runtime: RunningRuntime;
  let browser: Browser;
  let page: Page;
  let pi: MqttClient;
  let pictures: Server;
  const commands: Array<{ topic: string; payload: { zones?: ZonePolygon[] } }> = [];

  before(async () => {
    // The camera's picture: one frame of ffmpeg's test pattern, served where its preview would be.
    const jpeg = spawnSync(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1', '-f', 'mjpeg', '-'],
      {
        maxBuffer: 1 << 24,
      },
    ).stdout;
    pictures = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg));
    const picturePort = await freePort();
    await new Promise<void>((ok) => pictures.listen(picturePort, '127.0.0.1', ok));
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    runtime = await startRuntime(
      settingsFor(
        cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud', PICAM_DASHBOARD_MJPEG: `${PI}=http://127.0.0.1:${picturePort}/snapshot.jpg` }),
      ),
    );
    pi = await waitFor('the broker', () =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
    );
    await pi.subscribeAsync(`prod/honeycomb/${PI}/#`, { qos: 1 });
    pi.on('message', (topic, payload) => commands.push({ topic, payload: JSON.parse(payload.toString()) }));
    await pi.publishAsync(
      topics.connection(PI, 'picam'),
      JSON.stringify(connected(Math.floor(Date.now() / 1000), { name: 'Kitchen Pi' })),
      {
        qos: 1,
      },
    );
    await waitFor('the Pi known', async () => {
      const res = await fetch(`${runtime.url}/api/cameras`, { headers: { authorization: API_AUTH } });
      const body = (await res.json()) as { cameras: Array<{ camera_id: string }> };
      return body.cameras.some((c) => c.camera_id === PI) ? true : undefined;
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  });
  after(async () => {
    await browser?.close();
    await pi?.endAsync();
    await runtime?.stop();
    await new Promise((ok) => pictures?.close(ok));
  });

  /** Clicks the picture at (x, y) percent of its size. */
  async function clickAt(editor: ReturnType<Page['locator']>, x: number, y: number): Promise<void> {
    const canvas = editor.locator('.zone-canvas');
    const box = (await canvas.boundingBox())!;
    await canvas.click({ position: { x: (box.width * x) / 100, y: (box.height * y) / 100 } });
  }

  it('draws a zone and a mask on the camera picture, refuses a zone without a name, and saves them to the Pi', async () => {
    const card = page.locator(`article[data-camera="${PI}"]`);
    await card.getByRole('button', { name: 'Masks and zones of Kitchen Pi' }).click();
    const editor = card.locator('.zone-editor');
    // The camera's picture, loaded: what the user draws on.
    await editor.locator('.zone-picture img').waitFor();
    assert.ok(await editor.locator('.zone-picture img').evaluate((img: HTMLImageElement) => img.naturalWidth === 640));

    for (const [x, y] of [
      [10, 50],
      [60, 50],
      [60, 90],
      [10, 90],
    ] as const)
      await clickAt(editor, x, y);
    await editor.getByRole('button', { name: 'Close polygon' }).click();
    assert.match((await editor.locator('.zone-status').textContent()) ?? '', /this polygon: a zone needs a name/);

    await editor.getByLabel('Name').fill('driveway');
    // its own settings (issue 20): a sensitivity out of range is named before anything is sent
    await editor.getByLabel('Sensitivity').fill('2');
    await editor.getByLabel('Minimum motion (s)').fill('2');
    await editor.getByRole('button', { name: 'Close polygon' }).click();
    assert.match((await editor.locator('.zone-status').textContent()) ?? '', /this polygon: sensitivity must be a number from 0 .* to 1/);
    await editor.getByLabel('Sensitivity').fill('0.8');
    await editor.getByRole('button', { name: 'Close polygon' }).click();
    await editor.getByLabel('Kind').selectOption('mask');
    for (const [x, y] of [
      [1, 1],
      [99, 1],
      [99, 20],
    ] as const)
      await clickAt(editor, x, y);
    await editor.getByRole('button', { name: 'Close polygon' }).click();
    assert.equal(
      await editor.locator('.zone-overlay polygon').count(),
      2,
      `both drawn over the picture: ${await editor.locator('.zone-status').textContent()}`,
    );
    assert.match(
      (await editor.locator('.zone-list').textContent()) ?? '',
      /zone "driveway" \(4 corners, sensitivity 0.8, motion for 2 s\).*mask \(3 corners\)/,
    );

    await editor.getByRole('button', { name: 'Save masks and zones' }).click();
    await editor.locator('.zone-status[data-state="ok"]').waitFor();
    const sent = await waitFor('the zones at the Pi', async () => commands.find((c) => c.topic === `prod/honeycomb/${PI}/settings/zones`));
    const [zone, mask] = sent.payload.zones!;
    assert.equal(zone?.kind, 'zone');
    assert.equal(zone?.name, 'driveway');
    assert.equal(zone?.sensitivity, 0.8);
    assert.equal(zone?.minMotionSeconds, 2);
    assert.equal(mask?.kind, 'mask');
    // Where the user clicked, in percent of the picture (a pixel of rounding either way).
    const near = (got: number[][] | undefined, want: number[][]) =>
      assert.ok(
        got?.length === want.length && got.every(([x, y], i) => Math.abs(x! - want[i]![0]!) <= 1 && Math.abs(y! - want[i]![1]!) <= 1),
        JSON.stringify(got),
      );
    near(zone?.points, [
      [10, 50],
      [60, 50],
      [60, 90],
      [10, 90],
    ]);
    near(mask?.points, [
      [1, 1],
      [99, 1],
      [99, 20],
    ]);
  });

  it('shows the saved zones after a reload, and the zones of an event in the timeline', async () => {
    await page.reload();
    const card = page.locator(`article[data-camera="${PI}"]`);
    await card.getByRole('button', { name: 'Masks and zones of Kitchen Pi' }).click();
    await card.locator('.zone-list', { hasText: 'zone "driveway"' }).waitFor();
    // Deleting one is a click (and a save): here only the list changes.
    await card.getByRole('button', { name: 'Delete mask' }).click();
    assert.equal(await card.locator('.zone-overlay polygon').count(), 1);

    const eventId = `evt_${'c'.repeat(32)}`;
    const start = { eventId, activityType: 'MOTION', timestamp: Math.floor(Date.now() / 1000), confidence: 0.8, zones: ['driveway'] };
    await pi.publishAsync(topics.start(PI, 'picam'), JSON.stringify(start), { qos: 1 });
    await page.locator(`#event-list li[data-event="${eventId}"] .event-zones`, { hasText: 'Zones: driveway' }).waitFor({ timeout: 30_000 });
  });
});

/**
 * A VBC01 camera's live view in Debian's Chromium against a real cloud runtime (login, guard,
 * embedded broker, command-sender, the vbc01-live node), the bridge an in-memory one following
 * nodes/lib/live/bridge-types.ts: the page starts the camera on demand with its stream token,
 * says what the camera is doing while it starts, and says why there is no video when the
 * stream ends, with a way to try again. (Playing video needs the real bridge: test/e2e.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { fakeBridges } from '../../support/fake-live-bridge';
import { CAMERA, connected, topics } from '../../support/fixtures';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { videoSourceFor } from '../../../dashboard/src/player';

const dataDir = tempDir('picam-live-page-');

describe('a VBC01 camera live view in the dashboard', { skip: skipWithoutChromium }, () => {
  let runtime: RunningRuntime;
  let camera: MqttClient;
  let browser: Browser;
  let page: Page;
  const bridges = fakeBridges();
  const plays: string[] = [];

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    const role = settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud' }));
    role.node.picamLiveBridge = bridges.factory;
    runtime = await startRuntime(role);
    camera = await waitFor('the embedded broker', () =>
      mqtt
        .connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId: CAMERA, reconnectPeriod: 0 })
        .catch(() => undefined),
    );
    camera.on('message', (topic) => topic.endsWith('/stream/play') && plays.push(topic));
    await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    await camera.publishAsync(topics.connection(CAMERA), JSON.stringify(connected(Math.floor(Date.now() / 1000))), { qos: 1 });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`article[data-camera="${CAMERA}"]`).getByText('Front Door').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await camera?.endAsync();
    await runtime?.stop();
  });

  it('asks the camera when the user opens its live video, says it waits for video, and why there is none', async () => {
    const card = page.locator(`article[data-camera="${CAMERA}"]`);
    const status = card.locator('.video-status');
    await card.getByRole('button', { name: 'Show live video of Front Door' }).click();
    // The page's WHEP offer passed the login guard with its stream token: the bridge opened a stream.
    const stream = await bridges.made[0]!.stream();
    await waitFor('stream/play at the camera', async () => plays[0]);
    await status.getByText('Waiting for video from the camera…').waitFor({ timeout: 30_000 });
    assert.equal(await status.getAttribute('data-state'), 'busy');

    // The stream ends without video: the page says why, and offers to ask again.
    await stream.close();
    await status.getByText('No live video: the video bridge closed the stream.').waitFor({ timeout: 30_000 });
    assert.equal(await status.getAttribute('data-state'), 'down');
    await card.getByRole('button', { name: 'Try again' }).click();
    await bridges.made[0]!.stream(2);
    await waitFor('a second stream/play', async () => plays[1]);
    await card.getByRole('button', { name: 'Show live video of Front Door' }).click();
  });

  it('lists the running VBC01 streams in the health view', async () => {
    const card = page.locator(`article[data-camera="${CAMERA}"]`);
    await card.getByRole('button', { name: 'Show live video of Front Door' }).click();
    await card.locator('.video-status').getByText('Waiting for video from the camera…').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Refresh the live streams served here' }).click();
    const row = page.locator(`#live-table tr[data-camera="${CAMERA}"]`);
    await row.waitFor();
    assert.equal(await row.locator('td').first().textContent(), 'Waiting for video from the camera…');
  });
});

describe('which path a camera plays by', () => {
  it("takes the runtime's own WHEP for a VBC01 and for an RTSP source of the live node, MediaMTX or MJPEG otherwise", () => {
    const runtime = { kind: 'vbc01', url: '/api/live/picam-1/whep', stateUrl: '/api/live/picam-1' };
    assert.deepEqual(videoSourceFor('picam-1', '', { 'picam-1': '/picam/preview' }, 'picam', ['picam-1']), runtime);
    assert.deepEqual(videoSourceFor('picam-1', 'http://mtx:8889', {}, 'picam', ['picam-1']), runtime);
    assert.deepEqual(videoSourceFor('picam-1', '', { 'picam-1': '/picam/preview' }, 'picam'), { kind: 'mjpeg', url: '/picam/preview' });
    assert.equal(videoSourceFor('picam-1', 'http://mtx:8889', {}, 'picam', ['other']).kind, 'whep');
  });

  it('plays an IP camera from its MediaMTX path over WHEP, its MJPEG when WHEP fails or there is no MediaMTX', () => {
    assert.deepEqual(videoSourceFor('porch', 'http://mtx:8889', {}, 'ipcam'), {
      kind: 'whep',
      url: 'http://mtx:8889/porch/whep',
      fallbackMjpeg: '/api/ipcams/porch/mjpeg',
    });
    assert.deepEqual(videoSourceFor('porch', '', {}, 'ipcam'), { kind: 'mjpeg', url: '/api/ipcams/porch/mjpeg' });
  });
});

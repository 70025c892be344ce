/**
 * End to end: a VBC01 camera's activity, thumbnail and encrypted recording in
 * the real shapes (MQTT start; presign + PUT of a thumbnail ZIP and of two
 * recording parts, each with `aes.key` and AES-128-CBC `720p/N.ts` segments
 * made by ffmpeg and node:crypto) into a real cloud runtime; the dashboard in
 * Debian's Chromium shows the thumbnail and plays the recording, and asks for
 * no thumbnail an event does not have.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { makeTestRecording, recordingParts, storedZip, type TestRecording } from '../../cli/commands/simulator-uploads';
import { launchChromium, screenshot, skipWithoutChromium } from '../support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { activity, CAMERA, topics } from '../support/fixtures';
import { hasFfmpeg } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { uploadLikeCamera } from '../support/vbc01-upload';
import { waitFor } from '../support/wait';

const dataDir = tempDir('picam-vbc01-rec-');
const skip = skipWithoutChromium || (!hasFfmpeg && !process.env.CI ? 'ffmpeg is not installed' : false);

describe('a VBC01 recording in the real layout plays in the dashboard', { skip }, () => {
  let runtime: CliProcess;
  let base = '';
  let gateway = '';
  let camera: MqttClient;
  let browser: Browser;
  let page: Page;
  let recording: TestRecording;
  const thumbnailRequests: string[] = [];
  const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: API_AUTH } });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as T };
  };
  const eventRow = async (eventId: string) =>
    (
      await api<{ events: Array<{ event_id: string; has_thumbnail: boolean; has_recording: boolean }> }>('/api/events?limit=50')
    ).body?.events?.find((e) => e.event_id === eventId);

  before(async () => {
    const [http, mqttPort, ws, gw] = [await freePort(), await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${http}`;
    gateway = `http://127.0.0.1:${gw}`;
    runtime = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(dataDir, { http, mqtt: mqttPort, ws, gateway: gw }, { PICAM_CAMERAS: CAMERA }),
    );
    camera = await waitFor(
      'the broker',
      () =>
        mqtt
          .connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { ...LOGINS.devices, clientId: CAMERA, reconnectPeriod: 0 })
          .catch(() => undefined),
      RUNTIME_START_MS,
    );
    await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.status === 200 ? true : undefined), 60_000);
    await waitFor('the gateway', async () => ((await fetch(`${gateway}/hivecam/${CAMERA}`).catch(() => undefined))?.ok ? true : undefined));
    const made = await makeTestRecording({ seconds: 6, width: 320, height: 240 });
    assert.ok(made, 'ffmpeg makes the test recording');
    recording = made;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('request', (r) => r.url().includes('/api/media/thumbnail/') && thumbnailRequests.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    await camera?.endAsync();
    assert.equal(await runtime?.stop(), 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
  });

  it('stores the camera’s uploads for its event, and the event says it has a thumbnail and a recording', async () => {
    assert.ok(recording.segments.length >= 2, 'ffmpeg cut at least two segments');
    const eventId = randomUUID();
    const bare = randomUUID();
    await camera.publishAsync(topics.start(), JSON.stringify(activity(eventId, Math.floor(Date.now() / 1000))), { qos: 1 });
    await camera.publishAsync(topics.start(), JSON.stringify(activity(bare, Math.floor(Date.now() / 1000) - 5)), { qos: 1 });
    await waitFor('both events stored', async () => ((await eventRow(eventId)) && (await eventRow(bare)) ? true : undefined));

    const thumb = await uploadLikeCamera(gateway, {
      fileName: `${eventId}-0-0.zip`,
      category: 'thumbnail',
      cameraId: CAMERA,
      zip: storedZip([{ name: '/thumbnail.jpg', data: recording.thumbnail }]),
      meta: { eventId },
    });
    assert.equal(thumb.status, 200, await thumb.clone().text());
    for (const [i, zip] of recordingParts(recording.segments).entries()) {
      const res = await uploadLikeCamera(gateway, { fileName: `${eventId}-1-${i}.zip`, category: 'activity', cameraId: CAMERA, zip });
      assert.equal(res.status, 200, await res.clone().text());
    }
    const row = await eventRow(eventId);
    assert.deepEqual([row?.has_thumbnail, row?.has_recording], [true, true]);
    const none = await eventRow(bare);
    assert.deepEqual([none?.has_thumbnail, none?.has_recording], [false, false]);
    const playlist = await fetch(`${base}/api/media/playlist/${eventId}.m3u8?camera=${CAMERA}`, { headers: { authorization: API_AUTH } });
    assert.equal(playlist.status, 200);
    const entries = (await playlist.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(entries.length, recording.segments.length, 'every segment of both parts, in one playlist');
    const anonymous = await fetch(`${base}/api/media/playlist/${eventId}.m3u8?camera=${CAMERA}`);
    assert.equal(anonymous.status, 401, 'recordings only behind the dashboard login');

    // The dashboard: the picture of the event with one, no request at all for the other's.
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const item = page.locator(`#event-list li[data-event="${eventId}"]`);
    const img = item.getByRole('img', { name: /Picture of MOTION/ });
    await img.waitFor({ timeout: 15_000 });
    await waitFor('the decoded thumbnail', async () =>
      (await img.evaluate((i: HTMLImageElement) => i.naturalWidth)) === 320 ? true : undefined,
    );
    await page.locator(`#event-list li[data-event="${bare}"]`).getByText('no picture').waitFor();
    assert.ok(thumbnailRequests.some((u) => u.includes(eventId)));
    assert.deepEqual(
      thumbnailRequests.filter((u) => u.includes(bare)),
      [],
      'no thumbnail asked for an event without one',
    );

    // And the recording plays: hls.js in Chromium, decrypted segments joined from two parts.
    await item.getByRole('button', { name: /Play the recording/ }).click();
    const video = page.locator('#event-player video');
    await video.waitFor();
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await waitFor(
      'the video playing past the first segment',
      async () => ((await video.evaluate((v: HTMLVideoElement) => v.currentTime)) > 3.5 ? true : undefined),
      20_000,
    );
    const state = await video.evaluate((v: HTMLVideoElement) => ({
      ready: v.readyState,
      w: v.videoWidth,
      h: v.videoHeight,
      error: v.error?.code,
    }));
    assert.ok(state.ready >= 2, `the video has data (readyState ${state.ready})`);
    assert.deepEqual([state.w, state.h, state.error], [320, 240, undefined]);
    await screenshot(page, 'vbc01', 'recording');
  });
});

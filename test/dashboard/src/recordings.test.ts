/**
 * Issue 19 in Debian's Chromium against a real cloud runtime (login, guard, broker, store):
 * an event's clip plays from its row and downloads, a camera's day of recordings draws its
 * segments and events and plays from a click, the storage panel shows disk use and the low
 * state, and a signed link from an alert leads through the login to the event's clip.
 * A stand-in router answers the recorder's four routes where the recorder mounts them
 * (test/support/fake-recorder.ts), with a real MP4 made by ffmpeg; the event's clip row is put
 * in the store as the recorder writes it, so /api/events names the clip.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import sqlite3 from 'sqlite3';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { API_PATHS, apiUrl } from '../../../nodes/lib/contract/api-routes';
import type { EventClip } from '../../../nodes/lib/contract/recordings';
import { eventLinkUrl } from '../../../nodes/lib/event-links';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { FakeRecorder } from '../../support/fake-recorder';
import { skipWithoutFfmpeg, testClip } from '../../support/ffmpeg';
import { activity, CAMERA, connected, topics } from '../../support/fixtures';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const dataDir = tempDir('picam-recordings-page-');
const SECRET = 'credential-secret-for-tests'; // cloudRoleEnv's PICAM_CREDENTIAL_SECRET
const EVENT = 'evt-clip-1';
// Noon today, local time (the browser's zone is this process's): the day view shows today. Before
// noon that is in the future, so the runtime takes device times up to a day ahead (by default it
// replaces one more than 5 min ahead with the receive time, and the event would miss its clip).
const noon = (() => {
  const d = new Date();
  d.setHours(12, 0, 0, 0);
  return d.getTime();
})();

const clip: EventClip = {
  cameraId: CAMERA,
  eventId: EVENT,
  state: 'ready',
  startMs: noon - 5_000,
  endMs: noon + 20_000,
  durationMs: 25_000,
  bytes: 0,
  url: apiUrl(API_PATHS.recordingClip, { cameraId: CAMERA, eventId: EVENT }),
};

/** The clip's row as the recorder writes it (nodes/lib/store/recordings.ts), what /api/events reads, and its file. */
async function storeClip(dir: string, c: EventClip, mp4: string): Promise<void> {
  // Where the runtime's own recorder keeps it (PICAM_RECORD_DIR's default): whichever of it and the
  // stand-in answers the clip's URL first, the browser gets the same real MP4.
  const file = `${c.cameraId}/clips/${c.eventId}.mp4`;
  mkdirSync(join(dir, 'recordings', c.cameraId, 'clips'), { recursive: true });
  copyFileSync(mp4, join(dir, 'recordings', file));
  const db = new sqlite3.Database(join(dir, 'picam-guardian.db'));
  try {
    await new Promise<void>((resolve, reject) =>
      db.run(
        `INSERT INTO recording_clips (camera_id, event_id, state, start_ms, end_ms, duration_ms, bytes, file, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [c.cameraId, c.eventId, c.state, c.startMs, c.endMs, c.durationMs, c.bytes, file, Date.now()],
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  } finally {
    db.close();
  }
}

async function login(page: Page): Promise<void> {
  await page.getByLabel('User name').fill(LOGINS.api.username);
  await page.getByLabel('Password').fill(LOGINS.api.password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The video plays: it has data and its time advances. */
async function plays(page: Page, selector: string): Promise<void> {
  const video = page.locator(selector);
  await video.waitFor();
  await video.evaluate((v: HTMLVideoElement) => {
    v.muted = true;
    return v.play();
  });
  await page.waitForFunction(
    (sel) => {
      const v = document.querySelector<HTMLVideoElement>(sel);
      return !!v && v.readyState >= 2 && v.currentTime > 0.2;
    },
    selector,
    { timeout: 30_000 },
  );
}

describe('recordings in the dashboard', { skip: skipWithoutChromium || skipWithoutFfmpeg }, () => {
  let runtime: RunningRuntime;
  let camera: MqttClient;
  let browser: Browser;
  let page: Page;
  let recorder: FakeRecorder;

  before(async () => {
    const mp4 = join(dataDir, 'clip.mp4');
    testClip(mp4, 4);
    recorder = new FakeRecorder({
      mp4,
      usage: {
        disk: { totalBytes: 16e9, freeBytes: 0.9e9 },
        floorBytes: 1e9,
        low: true,
        cameras: [{ cameraId: CAMERA, mode: 'events', segmentBytes: 250e6, clipBytes: 42e6, oldestMs: noon - 86_400_000 }],
      },
      timelines: {
        [CAMERA]: {
          cameraId: CAMERA,
          mode: 'events',
          // two stretches: 11:00-11:30 in 6-second segments (drawn as one bar), and around the event
          segments: [
            ...Array.from({ length: 300 }, (_, i) => ({
              startMs: noon - 3_600_000 + i * 6_000,
              endMs: noon - 3_600_000 + (i + 1) * 6_000,
              bytes: 50_000,
            })),
            { startMs: noon - 10_000, endMs: noon + 30_000, bytes: 400_000 },
          ],
          events: [{ eventId: EVENT, activityType: 'MOTION', startMs: noon, endMs: noon + 10_000, clip }],
        },
      },
    });
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud', PICAM_CLOCK_FUTURE_SECONDS: '86400' })));
    // Where the recorder node mounts its router while it runs: behind the API guard, on httpNode.
    const RED = (await import('node-red')).default as unknown as { httpNode: Parameters<FakeRecorder['mountAhead']>[0] };
    recorder.mountAhead(RED.httpNode);

    camera = await waitFor('the embedded broker', () =>
      mqtt
        .connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId: CAMERA, reconnectPeriod: 0 })
        .catch(() => undefined),
    );
    await camera.publishAsync(topics.connection(CAMERA), JSON.stringify(connected(Math.floor(noon / 1000) - 60)), { qos: 1 });
    await camera.publishAsync(topics.start(CAMERA), JSON.stringify(activity(EVENT, Math.floor(noon / 1000))), { qos: 1 });
    await camera.publishAsync(topics.stop(CAMERA), JSON.stringify(activity(EVENT, Math.floor(noon / 1000) + 10)), { qos: 1 });
    await storeClip(dataDir, clip, mp4);
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
    page = await browser.newPage();
    await page.goto(`${runtime.url}/dashboard/`);
    await login(page);
    await page.locator(`article[data-camera="${CAMERA}"]`).getByText('Front Door').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await camera?.endAsync();
    await runtime?.stop();
  });

  it("plays an event's clip from its row, and offers it as an MP4 download", async () => {
    const row = page.locator(`li[data-event="${EVENT}"]`);
    const play = row.getByRole('button', { name: 'Play the clip of MOTION at Front Door' });
    await play.waitFor({ timeout: 30_000 });
    const download = row.getByRole('link', { name: 'Download MP4' });
    assert.equal(await download.getAttribute('href'), clip.url);
    assert.equal(await download.getAttribute('download'), `${CAMERA}-${EVENT}.mp4`);
    await play.click();
    await plays(page, `#event-player video[data-clip="${EVENT}"]`);
    assert.equal(await page.locator('#event-player video').getAttribute('src'), clip.url);
    assert.ok(
      recorder.requests.some((r) => r.path === `/${CAMERA}/clips/${EVENT}` && r.range),
      'the browser fetched the clip with range requests',
    );
  });

  it("draws a camera's day with its segments and events, and plays from a click or the keyboard", async () => {
    const line = page.locator('#day-line');
    await page.waitForFunction(() => Number(document.getElementById('day-line')?.dataset.segments) > 0, undefined, { timeout: 30_000 });
    assert.equal(await line.getAttribute('data-segments'), '2', '300 neighbouring segments are one bar, the event stretch another');
    assert.match((await page.locator('#day-status').textContent()) ?? '', /31 min recorded · 1 event · mode events/);
    const mark = line.locator(`.day-mark[data-event="${EVENT}"]`);
    assert.ok((await mark.getAttribute('aria-label'))?.startsWith('Play MOTION at Front Door'));

    // A click at 11:15 (11.25/24 of the line's width) plays from then.
    await line.scrollIntoViewIfNeeded();
    const box = (await line.boundingBox())!;
    const before = recorder.requests.length;
    await page.mouse.click(box.x + box.width * (11.25 / 24), box.y + box.height * 0.8);
    await plays(page, '#day-player video');
    const src = new URL((await page.locator('#day-player video').getAttribute('src'))!, runtime.url);
    assert.equal(src.pathname, apiUrl(API_PATHS.recordingVideo, { cameraId: CAMERA }));
    const start = Number(src.searchParams.get('start'));
    assert.ok(Math.abs(start - (noon - 45 * 60_000)) < 5 * 60_000, `starts near 11:15 (${new Date(start).toTimeString()})`);
    assert.equal(Number(src.searchParams.get('end')) - start, 5 * 60_000, 'a few minutes from the point');
    assert.ok(
      recorder.requests.slice(before).some((r) => r.path === `/${CAMERA}/video`),
      'the video route was asked',
    );
    assert.equal(
      await page.locator('#day-player').getByRole('link', { name: 'Download MP4' }).getAttribute('href'),
      src.pathname + src.search,
    );

    // The keyboard: the line takes the focus, arrows choose a time, Enter plays it.
    await line.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (was) => new URL(document.querySelector<HTMLVideoElement>('#day-player video')!.src).searchParams.get('start') !== was,
      String(start),
    );
    const midnight = noon - 12 * 3_600_000;
    assert.equal(await line.getAttribute('aria-valuenow'), String(start + 5 * 60_000 - midnight), 'five minutes after the click');
    const keyed = new URL((await page.locator('#day-player video').getAttribute('src'))!, runtime.url);
    assert.equal(Number(keyed.searchParams.get('start')), start + 5 * 60_000);

    // The event's mark plays its clip's stretch; the day buttons move the line.
    await mark.click();
    const markSrc = new URL((await page.locator('#day-player video').getAttribute('src'))!, runtime.url);
    assert.equal(Number(markSrc.searchParams.get('start')), clip.startMs);
    await page.getByRole('button', { name: 'The day before' }).click();
    await page.waitForFunction(() => document.getElementById('day-line')?.dataset.segments === '0');
    await page.getByRole('button', { name: 'The day after' }).click();
    await page.waitForFunction(() => document.getElementById('day-line')?.dataset.segments === '2');
  });

  it('shows disk use per camera, the floor, and the low state', async () => {
    const panel = page.locator('#storage-panel');
    // It loads when first seen (below the first screen: main.ts), as a user scrolling to it sees it.
    await panel.scrollIntoViewIfNeeded();
    await panel.locator(`tr[data-camera="${CAMERA}"]`).waitFor({ timeout: 30_000 });
    assert.deepEqual(await panel.locator(`tr[data-camera="${CAMERA}"] td`).allTextContents(), [
      'events',
      '250 MB',
      '42.0 MB',
      new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(noon - 86_400_000)),
    ]);
    assert.match((await panel.getByRole('alert').textContent()) ?? '', /Storage low: less than 1.0 GB free/);
    assert.equal(await panel.getAttribute('data-low'), 'true');
  });

  it('takes a signed link from an alert through the login to the event and its clip; refuses tampered and expired ones', async () => {
    const ref = { cameraId: CAMERA, eventId: EVENT, timeMs: noon };
    const link = eventLinkUrl(runtime.url, SECRET, ref, Date.now() + 60_000);
    const answer = await fetch(link, { redirect: 'manual' });
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.get('location'), `/dashboard/#event=${CAMERA}/${EVENT}/${noon}`);

    const tampered = new URL(link);
    tampered.searchParams.set('e', 'evt-other');
    const refused = await fetch(tampered, { redirect: 'manual' });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /changed or was not made by this server/);
    const expired = await fetch(eventLinkUrl(runtime.url, SECRET, ref, Date.now() - 1), { redirect: 'manual' });
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);
    const malformed = await fetch(`${runtime.url}/dashboard/event?c=../../etc&e=x`, { redirect: 'manual' });
    assert.equal(malformed.status, 400);

    // Someone not logged in opens the link: the login first, then the event's clip.
    const context = await browser.newContext();
    const fresh = await context.newPage();
    await fresh.goto(link);
    await login(fresh);
    await plays(fresh, `#event-player video[data-clip="${EVENT}"]`);
    await context.close();
  });
});

/**
 * Adding an IP camera from the dashboard, in Chromium, against the cloud role
 * (its flow's ipcam node) and a real RTSP camera (GStreamer's RTSP server):
 * the check's result is shown (a wrong password in one line), Add stores and
 * starts the camera, it appears in the camera list as an ipcam, and its live
 * view plays the MJPEG from the sub stream, behind the login.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../support/browser';
import { API_AUTH, cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { FakeOnvif } from '../support/fake-onvif';
import { freePort } from '../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../support/rtsp-camera';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const skip = skipWithoutChromium || skipWithoutFfmpeg || skipWithoutGstRtsp;

/**
 * Opens the "Add an IP camera" section, clicking its summary again until it is open: while the
 * camera grid above it fills in, the page moves, and a click Playwright aimed a moment earlier
 * can land beside the summary (a user would click again too).
 */
async function openAddForm(page: Page): Promise<void> {
  const details = page.locator('#ipcam-add');
  await waitFor('the Add an IP camera section open', async () => {
    if ((await details.getAttribute('open')) !== null) return true;
    await page.getByText('Add an IP camera (RTSP)').click();
    return undefined;
  });
}
const dataDir = tempDir('picam-ipcam-dashboard-');

describe('adding an IP camera in the dashboard', { skip }, () => {
  const camera = new RtspCamera();
  let runtime: CliProcess;
  let browser: Browser;
  let page: Page;
  let base = '';

  before(async () => {
    await camera.start();
    const [http, mqtt, ws] = [await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${http}`;
    runtime = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(dataDir, { http, mqtt, ws }, { PICAM_DASHBOARD_USERS: `alice:${bcrypt.hashSync('alice-secret', 4)}` }),
    );
    await waitFor(
      'the API',
      async () =>
        (await fetch(`${base}/api/status`, { headers: { authorization: API_AUTH } }).catch(() => undefined))?.ok ? true : undefined,
      30_000,
    );
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    const code = await runtime?.stop();
    await camera.stop();
    assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
  });

  it('keeps the IP camera API behind the login', async () => {
    assert.equal((await fetch(`${base}/api/ipcams`)).status, 401);
    assert.equal((await fetch(`${base}/api/ipcams/x/mjpeg`)).status, 401);
  });

  it('tests a camera (wrong password in one line, then the right one), adds it, and plays its MJPEG', async () => {
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill('alice');
    await page.locator('#login-password').fill('alice-secret');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#app-view').waitFor();

    await openAddForm(page);
    await page.getByLabel('Id', { exact: true }).fill('porch');
    await page.getByLabel('Name', { exact: true }).fill('Porch');
    await page.getByLabel('Sub stream').fill(camera.url('sub'));
    await page.getByLabel('Main stream').fill(camera.url('main'));
    await page.getByLabel('Camera user').fill(camera.user);
    await page.getByLabel('Camera secret').fill('wrong-password');
    await page.getByRole('button', { name: 'Test' }).click();
    const result = page.locator('#ipcam-result');
    await result
      .getByText(/^sub stream: wrong user or password for 127\.0\.0\.1:\d+\/sub \(the camera answered 401\)$/)
      .waitFor({ timeout: 30_000 });

    await page.getByLabel('Camera secret').fill(camera.password);
    await page.getByRole('button', { name: 'Test' }).click();
    await result.getByText('Sub stream: H264 320×180 at 10 fps').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await result.getByText('Camera "porch" added: it appears in the list once it streams.').waitFor({ timeout: 30_000 });

    const card = page.locator('article[data-camera="porch"]');
    await waitFor(
      'the camera card',
      async () => {
        if (await card.count()) return true;
        await page.reload();
        return undefined;
      },
      60_000,
    );
    await card.getByText('ipcam · porch').waitFor();
    // An IP camera cannot be rebooted from here: its card has no Reboot button.
    assert.equal(await card.getByRole('button', { name: 'Reboot Porch' }).count(), 0);
    await card.getByRole('button', { name: 'Show live video of Porch' }).click();
    const img = card.locator('img');
    await img.waitFor();
    assert.match((await img.getAttribute('src')) ?? '', /\/api\/ipcams\/porch\/mjpeg$/);
    await waitFor(
      'MJPEG frames in the page',
      async () => ((await img.evaluate((i: HTMLImageElement) => i.naturalWidth)) > 0 ? true : undefined),
      30_000,
    );
    assert.equal(await img.evaluate((i: HTMLImageElement) => i.naturalWidth), 320);
  });

  it('fills in the stream URLs found over ONVIF', async () => {
    const onvif = new FakeOnvif({
      username: camera.user,
      password: camera.password,
      profiles: [
        { token: 'p0', name: 'main', width: 640, height: 360, encoding: 'H264', uri: camera.url('main') },
        { token: 'p1', name: 'sub', width: 320, height: 180, encoding: 'H264', uri: camera.url('sub') },
      ],
    });
    await onvif.start();
    try {
      // The list may have reloaded the page since: open the form again.
      await openAddForm(page);
      await page.getByLabel('Sub stream').fill('');
      await page.getByLabel('Main stream').fill('');
      await page.getByLabel('Camera user').fill(camera.user);
      await page.getByLabel('Camera secret').fill(camera.password);
      await page.getByLabel('ONVIF address').fill(`127.0.0.1:${onvif.port}`);
      await page.getByRole('button', { name: 'Find streams (ONVIF)' }).click();
      await page.locator('#ipcam-result').getByText('Profile sub: H264 320×180').waitFor({ timeout: 30_000 });
      assert.equal(await page.getByLabel('Sub stream').inputValue(), camera.url('sub'));
      assert.equal(await page.getByLabel('Main stream').inputValue(), camera.url('main'));
    } finally {
      await onvif.close();
    }
  });

  it('discovers ONVIF cameras on the LAN, and says that only this LAN segment is reached when none answers', async () => {
    await openAddForm(page);
    await page.getByRole('button', { name: 'Discover (this LAN)' }).click();
    // No ONVIF camera on the test machine's LAN: the page says why nothing may be found.
    await page
      .locator('#ipcam-result')
      .getByText(/own LAN segment/)
      .waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#ipcam-found li').count(), 0);
  });
});

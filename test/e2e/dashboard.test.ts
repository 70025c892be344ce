/**
 * End to end: the dashboard in Debian's Chromium (driven by playwright-core)
 * against a real cloud runtime, its embedded broker and SQLite, seeded over
 * MQTT. Live video against a WHEP endpoint in this file whose WebRTC peer is a
 * second Chromium page sending a canvas stream, and the MJPEG fallback against
 * a small multipart server. A VBC01 camera's live view goes to the runtime's own
 * WHEP endpoint (vbc01-live), never MediaMTX: no camera streams here, so it says so. Screenshots of the main views go to
 * test-results/dashboard/ (PICAM_SCREENSHOTS replaces test-results/) for review.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { launchChromium, screenshot, skipWithoutChromium } from '../support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { activity, CAMERA, CAMERA_2, connected, environment, PI, topics } from '../support/fixtures';
import { hasFfmpeg, testRecording } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { answerWithCanvas } from '../support/whep-publisher';
import { waitFor } from '../support/wait';
import { uploadToGateway } from '../support/zip';

const CAMERA2 = CAMERA_2;
const TOKEN = 'dashboard-test-token-0123456789abcdef';
const USER = LOGINS.api;

let runtime: CliProcess;
let base = '';
/** the runtime's 127.0.0.1-only listener, where MediaMTX asks /mediamtx/auth */
let internal = '';
let gateway = '';
let mqttUrl = '';
/** One MQTT client per device, its device id as client id: the broker keeps each to its own topics. */
const devices = new Map<string, MqttClient>();
let browser: Browser;
let context: BrowserContext;
let page: Page;
let publisher: Page;
let whep: Server;
let mjpeg: Server;
let jpeg: Buffer;
const commands: Array<{ topic: string; payload: Record<string, unknown> }> = [];
const pageProblems: string[] = [];
/** what the runtime's /mediamtx/auth answered each WHEP request */
const whepAuth: number[] = [];
/** false: the Pi's MediaMTX path is unreachable (the page falls back to its MJPEG preview) */
let piWhepUp = false;
// Made here, not in a hook: tempDir registers its removal with after(), which inside before() would run at once.
const dataDir = tempDir('picam-dashboard-');

const api = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
// prod/device/{kind}/{type}/{id}/...: the device whose client publishes it.
const publish = (topic: string, payload: unknown) =>
  devices.get(topic.split('/')[4]!)!.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
const nowSec = () => Math.floor(Date.now() / 1000);
const shot = (p: Page, name: string) => screenshot(p, 'dashboard', name);
const login = (body: object, headers: Record<string, string> = {}) =>
  api('/api/login', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** MediaMTX's WHEP endpoint, played by this test: the sending peer is a Chromium page with a canvas stream. */
function startWhep(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'POST, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'content-type, authorization');
    res.setHeader('Access-Control-Expose-Headers', 'Location');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // The Pi's path while MediaMTX is "down": the page falls back to the Pi's MJPEG preview.
    if (path.startsWith(`/${PI}/`) && !piWhepUp) return req.socket.destroy();
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    if (req.method === 'DELETE') return res.writeHead(200).end();
    if (path !== `/${PI}/whep`) return res.writeHead(404, { 'content-type': 'text/plain' }).end('no stream is publishing to this path');
    let offer = '';
    req.on('data', (d: Buffer) => (offer += d.toString()));
    req.on('end', () => {
      // As MediaMTX with authMethod http: ask the runtime, passing on the browser's bearer token.
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const ask = { user: '', password: '', token, ip: '127.0.0.1', action: 'read', path: PI, protocol: 'webrtc', id: '', query: '' };
      fetch(`${internal}/mediamtx/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask) })
        .then((auth) => {
          whepAuth.push(auth.status);
          if (auth.status !== 200) return void res.writeHead(401).end('authentication error');
          return publisher
            .evaluate(answerWithCanvas, offer)
            .then((answer) => res.writeHead(201, { 'content-type': 'application/sdp', location: `/${PI}/whep/session-1` }).end(answer));
        })
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

/** The Pi's MJPEG preview, as rpicam-rtsp serves it: multipart/x-mixed-replace JPEG frames. */
function startMjpeg(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame', 'cache-control': 'no-store' });
    const send = () =>
      res.write(
        Buffer.concat([
          Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`),
          jpeg,
          Buffer.from('\r\n'),
        ]),
      );
    send();
    const timer = setInterval(send, 200);
    req.on('close', () => clearInterval(timer));
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

async function seed(): Promise<void> {
  const t0 = nowSec() - 3600;
  await publish(topics.connection(), connected(t0));
  await publish(topics.state(), { mode: 'PRIVACY' });
  await publish(topics.connection(CAMERA2), connected(t0, { name: 'Back Yard', ipAddress: '192.168.1.102' }));
  await publish(topics.connection(PI, 'picam'), { status: 'connected', name: 'Kitchen Pi' });
  for (let i = 0; i < 5; i++) await publish(topics.environment(), environment(Date.now() - (5 - i) * 60_000));
  for (let i = 1; i <= 12; i++) {
    const id = `evt-m-${String(i).padStart(2, '0')}`;
    await publish(topics.start(), activity(id, t0 + i * 60));
    await publish(topics.stop(), activity(id, t0 + i * 60 + 5));
  }
  for (let i = 1; i <= 3; i++) await publish(topics.start(CAMERA2), activity(`evt-p-${i}`, t0 + 30 + i * 60, 'PERSON'));
  await waitFor('the seeded rows', async () => {
    const r = await api('/api/events?limit=1', { headers: { authorization: API_AUTH } });
    const s = await api(`/api/sensors/${PI}`, { headers: { authorization: API_AUTH } });
    if (!r.ok || !s.ok) return undefined;
    const total = ((await r.json()) as { total: number }).total;
    const readings = ((await s.json()) as { readings: unknown[] }).readings.length;
    return total === 15 && readings === 5 ? true : undefined;
  });
}

describe('the dashboard in a browser', { skip: skipWithoutChromium }, () => {
  before(async () => {
    const [http, mqttPort, wsPort, gatewayPort, whepPort, mjpegPort, internalPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    base = `http://127.0.0.1:${http}`;
    internal = `http://127.0.0.1:${internalPort}`;
    gateway = `http://127.0.0.1:${gatewayPort}`;
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    runtime = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(
        dataDir,
        { http, mqtt: mqttPort, ws: wsPort, gateway: gatewayPort, internal: internalPort },
        {
          PICAM_CAMERAS: CAMERA,
          PICAM_API_TOKENS: `tests:${createHash('sha256').update(TOKEN).digest('hex')}`,
          PICAM_DASHBOARD_USERS: `alice:${bcrypt.hashSync('alice-secret', 4)}`,
          PICAM_WEBRTC_URL: `http://127.0.0.1:${whepPort}`,
          PICAM_DASHBOARD_MJPEG: `${PI}=http://127.0.0.1:${mjpegPort}/picam/preview`,
          // No VBC01 streams here: the live view says so after 2 s instead of 10.
          PICAM_LIVE_ANSWER_SECONDS: '2',
        },
      ),
    );
    // Both WebRTC peers are on this machine: real host addresses, loopback allowed.
    browser = await launchChromium(['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection']);
    publisher = await browser.newPage();
    const dataUrl = await publisher.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 90;
      const g = c.getContext('2d')!;
      g.fillStyle = '#2a6';
      g.fillRect(0, 0, 160, 90);
      g.fillStyle = '#fff';
      g.fillRect(40, 20, 60, 40);
      return c.toDataURL('image/jpeg', 0.8);
    });
    jpeg = Buffer.from(dataUrl.split(',')[1]!, 'base64');
    whep = await startWhep(whepPort);
    mjpeg = await startMjpeg(mjpegPort);
    for (const id of [CAMERA, CAMERA2, PI]) {
      const device = await waitFor(
        'the broker',
        () => mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: id, reconnectPeriod: 0 }).catch(() => undefined),
        RUNTIME_START_MS,
      );
      devices.set(id, device);
      await device.subscribeAsync(`prod/honeycomb/${id}/#`, { qos: 1 });
      device.on('message', (topic, payload) => commands.push({ topic, payload: JSON.parse(payload.toString()) }));
    }
    await waitFor(
      'the API',
      async () => ((await api('/api/status', { headers: { authorization: API_AUTH } }).catch(() => undefined))?.ok ? true : undefined),
      30_000,
    );
    await seed();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Uncaught/.test(m.text())) pageProblems.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([...devices.values()].map((d) => d.endAsync()));
    await new Promise((ok) => (whep ? whep.close(ok) : ok(undefined)));
    mjpeg?.closeAllConnections();
    await new Promise((ok) => (mjpeg ? mjpeg.close(ok) : ok(undefined)));
    const code = await runtime?.stop();
    assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
  });

  it('serves the page under /dashboard/ (and / redirects there) with a strict content security policy', async () => {
    const root = await api('/', { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard/');
    const res = await api('/dashboard/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(res.headers.get('cache-control'), 'no-store', "the page may hold a login's answers: never cached");
    const html = await res.text();
    assert.ok(!html.includes('first-view-answers"'), 'nobody logged in: no answers in the page');
    const script = /<script type="module" src="(app-[A-Z0-9]{8}\.js)">/.exec(html)?.[1];
    assert.ok(script, 'the script is named by its content');
    assert.equal((await api(`/dashboard/${script}`)).status, 200, 'the bundle is served without a login: it holds no data');
  });

  it('logs in: a wrong password is refused, then the right one with "remember me" sets a strict, HttpOnly cookie for 30 days', async () => {
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill(USER.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong user name or password.').waitFor();
    await shot(page, 'login');
    await page.getByLabel('Password').fill(USER.password);
    await page.getByLabel('Remember me for 30 days').check();
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#app-view').waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'picam_session');
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.secure, false, 'plain http here');
    const days = (cookie.expires * 1000 - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `persistent for 30 days (${days})`);
    await page.locator('#feed-state[data-state="live"]').waitFor();
  });

  it('gives a browser-session cookie without "remember me", and a Secure one behind a TLS proxy', async () => {
    const plain = await login({ username: 'alice', password: 'alice-secret' });
    assert.equal(plain.status, 200);
    const set = plain.headers.get('set-cookie') ?? '';
    assert.match(set, /HttpOnly; SameSite=Strict/);
    assert.doesNotMatch(set, /Max-Age|Expires|Secure/);
    const proxied = await login({ username: 'alice', password: 'alice-secret', remember: true }, { 'x-forwarded-proto': 'https' });
    assert.match(proxied.headers.get('set-cookie') ?? '', /Max-Age=2592000; Secure$/);
  });

  it('lets the API in with the session (CSRF token for changes), an API token, or Basic as before', async () => {
    const res = await login({ username: 'alice', password: 'alice-secret' });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    assert.equal((await api('/api/cameras', { headers: { cookie } })).status, 200, 'session');
    assert.equal((await api('/api/cameras', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, 'token');
    assert.equal((await api('/api/cameras', { headers: { authorization: API_AUTH } })).status, 200, 'Basic');
    assert.equal((await api('/api/cameras', { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
    const anonymous = await api('/api/cameras');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/, 'integrators still get the Basic challenge');

    const path = `/api/control/reboot/${CAMERA2}`;
    const noToken = await api(path, { method: 'POST', headers: { cookie } });
    assert.equal(noToken.status, 403);
    assert.match(((await noToken.json()) as { error: string }).error, /CSRF/);
    assert.equal((await api(path, { method: 'POST', headers: { cookie, 'x-csrf-token': 'forged' } })).status, 403);
    const crossSite = await api(path, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403, "another site's page may not send commands, whatever it carries");
    assert.equal((await api(path, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } })).status, 202);
    assert.equal((await api(path, { method: 'POST', headers: { authorization: API_AUTH } })).status, 202, 'Basic needs no CSRF token');
  });

  it('opens the live feed only with a session (401 before the upgrade) and only for its own pages', async () => {
    const wsUrl = base.replace('http', 'ws') + '/api/ws';
    const attempt = (headers: Record<string, string>) =>
      new Promise<number | string>((resolve) => {
        const ws = new WebSocket(wsUrl, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('message', (data) => {
          resolve((JSON.parse(data.toString()) as { type: string }).type);
          ws.close();
        });
        ws.on('error', () => undefined);
      });
    assert.equal(await attempt({}), 401);
    const cookie = (await login({ username: 'alice', password: 'alice-secret' })).headers.get('set-cookie')!.split(';')[0]!;
    assert.equal(await attempt({ cookie }), 'hello');
    assert.equal(await attempt({ cookie, origin: 'https://evil.example' }), 403);
  });

  it('shows every camera and Pi with its connection and mode', async () => {
    const front = page.locator(`article[data-camera="${CAMERA}"]`);
    await front.getByText('Front Door').waitFor();
    await page.locator(`article[data-camera="${CAMERA2}"]`).getByText('Back Yard').waitFor();
    await page.locator(`article[data-camera="${PI}"]`).getByText('Kitchen Pi').waitFor();
    assert.equal(await front.locator('.badge').textContent(), 'Online');
    await waitFor('the reported mode', async () => ((await front.getAttribute('data-mode')) === 'PRIVACY' ? true : undefined));
    assert.equal(await front.getByRole('button', { name: 'Set Front Door to Privacy' }).getAttribute('aria-pressed'), 'true');
    await front.getByText(/MOTION · /).waitFor();
    await shot(page, 'cameras');
  });

  it('sends a mode command from its button and shows the camera confirming it', async () => {
    commands.length = 0;
    const front = page.locator(`article[data-camera="${CAMERA}"]`);
    await front.getByRole('button', { name: 'Set Front Door to Armed' }).click();
    const sent = await waitFor('the setmode command', async () =>
      commands.find((c) => c.topic === `prod/honeycomb/${CAMERA}/system/setmode`),
    );
    assert.equal(sent.payload.mode, 'ARMED');
    await front.getByText('waiting for the camera to confirm').waitFor();
    await publish(topics.state(), { mode: 'ARMED' }); // the camera obeys and says so
    await front.getByText('Camera confirmed: Armed').waitFor();
    assert.equal(await front.getByRole('button', { name: 'Set Front Door to Armed' }).getAttribute('aria-pressed'), 'true');
  });

  it('reboots a camera only on a second press of Reboot', async () => {
    commands.length = 0;
    const reboot = page.locator(`article[data-camera="${CAMERA}"]`).getByRole('button', { name: 'Reboot Front Door' });
    await reboot.click();
    await reboot.getByText('Press again to reboot').waitFor();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(commands.length, 0, 'one stray press sends nothing');
    await reboot.click();
    await waitFor('the reboot command', async () => commands.find((c) => c.topic === `prod/honeycomb/${CAMERA}/system/reboot`));
  });

  it("plays and stops a VBC01's sound from its card", async () => {
    commands.length = 0;
    const front = page.locator(`article[data-camera="${CAMERA}"]`);
    await front.getByRole('combobox', { name: 'Sound for Front Door' }).selectOption('LULLABY');
    await front.getByRole('button', { name: 'Play the sound on Front Door' }).click();
    const play = await waitFor('the sound/play command', async () =>
      commands.find((c) => c.topic === `prod/honeycomb/${CAMERA}/sound/play`),
    );
    assert.equal(play.payload.soundType, 'LULLABY');
    await front.getByText('"Lullaby" sent').waitFor();
    await front.getByRole('button', { name: 'Stop the sound on Front Door' }).click();
    await waitFor('the sound/stop command', async () => commands.find((c) => c.topic === `prod/honeycomb/${CAMERA}/sound/stop`));
    assert.equal(await page.locator(`article[data-camera="${PI}"] .sound`).count(), 0, 'a Pi has no sounds');
  });

  it('plays live video over WHEP, falls back to MJPEG, and starts a VBC01 camera on demand, saying why it has no video', async () => {
    // MediaMTX down for the Pi: its MJPEG preview.
    const pi = page.locator(`article[data-camera="${PI}"]`);
    await pi.getByRole('button', { name: 'Show live video of Kitchen Pi' }).click();
    const img = pi.getByRole('img', { name: 'Live preview of Kitchen Pi (MJPEG)' });
    await img.waitFor();
    await waitFor('an MJPEG frame', async () => ((await img.evaluate((i: HTMLImageElement) => i.naturalWidth)) === 160 ? true : undefined));
    await pi.getByRole('button', { name: 'Show live video of Kitchen Pi' }).click();

    // MediaMTX up: WebRTC.
    piWhepUp = true;
    await pi.getByRole('button', { name: 'Show live video of Kitchen Pi' }).click();
    const video = pi.locator('video');
    await video.waitFor();
    await waitFor(
      'decoded WebRTC frames',
      async () => ((await video.evaluate((v: HTMLVideoElement) => v.videoWidth)) === 320 ? true : undefined),
      20_000,
    );
    await pi.locator('.video-status[data-state="ok"]').getByText('Live').waitFor();
    assert.deepEqual(whepAuth, [200], 'MediaMTX asked the runtime, which knew the browser by its stream token');
    const forged = await fetch(`${internal}/mediamtx/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        user: '',
        password: '',
        token: `${Date.now() + 60_000}.YWxpY2U.${'A'.repeat(43)}`,
        action: 'read',
        path: PI,
      }),
    });
    assert.equal(forged.status, 401, 'a forged token is refused');

    // A VBC01: the runtime's WHEP endpoint (with the stream token), which asks the camera; none streams here
    // (and this runtime's bridge may have no camera to receive), so the page says why there is no video.
    const back = page.locator(`article[data-camera="${CAMERA2}"]`);
    await back.getByRole('button', { name: 'Show live video of Back Yard' }).click();
    await back
      .locator('.video-status[data-state="down"]')
      .getByText(/^No live video: /)
      .waitFor({ timeout: 30_000 });
    await back.getByRole('button', { name: 'Try again' }).waitFor();
    assert.ok(!whepAuth.includes(401), 'MediaMTX was never asked for a VBC01');
    await shot(page, 'live-video');
    // Stop the players: the next views' screenshots and tab order do not need them.
    for (const name of ['Back Yard', 'Kitchen Pi']) await page.getByRole('button', { name: `Show live video of ${name}` }).click();
  });

  it('shows the latest Sense HAT values, updated live from MQTT, and their charts', async () => {
    const panel = page.locator(`section[data-device="${PI}"]`);
    await panel.locator('dd[data-metric="temperature"]').getByText('21.5').waitFor();
    await publish(topics.environment(), { temperature: 23.4, humidity: 51, pressure: 1009.5, timestamp: Date.now() });
    await panel.locator('dd[data-metric="temperature"]').getByText('23.4').waitFor();
    assert.equal(await panel.locator('dd[data-metric="humidity"]').textContent(), '51');
    assert.equal(await panel.locator('canvas').count(), 3, 'three charts');
    await panel.getByRole('button', { name: 'Last week' }).click();
    await waitFor('the week chart', async () =>
      (await panel.getByRole('button', { name: 'Last week' }).getAttribute('aria-pressed')) === 'true' ? true : undefined,
    );
    await panel.getByText(/6 points; min 21\.5, max 23\.4 °C/).waitFor();
    await page.locator('#sensors').scrollIntoViewIfNeeded();
    await shot(page, 'sensors');
  });

  it('lists events in pages and filters them by camera, type and date', async () => {
    const items = page.locator('#event-list li.event');
    await page.locator('#event-page').getByText('1–10 of 15').waitFor();
    assert.equal(await items.count(), 10);
    await page.getByRole('button', { name: 'Older events' }).click();
    await page.locator('#event-page').getByText('11–15 of 15').waitFor();
    assert.equal(await items.count(), 5);
    assert.equal(await page.getByRole('button', { name: 'Older events' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Newer events' }).click();
    await page.locator('#event-page').getByText('1–10 of 15').waitFor();

    const cameraFilter = page.getByRole('combobox', { name: /^Camera/ });
    await cameraFilter.selectOption(CAMERA2);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#event-page').getByText('1–3 of 3').waitFor();
    assert.deepEqual(new Set(await items.locator('.event-type').allTextContents()), new Set(['PERSON']));
    await cameraFilter.selectOption('');
    await page.getByLabel('Type').fill('motion');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#event-page').getByText('1–10 of 12').waitFor();
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await page.getByLabel('From', { exact: true }).fill(day);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#event-page').getByText('0–0 of 0').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('#event-page').getByText('1–10 of 15').waitFor();
  });

  it('shows a new event live, with its thumbnail once the camera uploads it', async () => {
    const eventId = 'evt-live-1';
    await publish(topics.start(), activity(eventId, nowSec()));
    const item = page.locator(`#event-list li[data-event="${eventId}"]`);
    await item.waitFor();
    await page.locator('#event-page').getByText('1–10 of 16').waitFor();
    const up = await uploadToGateway(gateway, CAMERA, eventId, [{ name: 'thumbnail.jpg', data: jpeg }]);
    assert.equal(up.status, 200, await up.clone().text());
    const thumb = item.getByRole('img', { name: /Picture of MOTION at Front Door/ });
    await thumb.waitFor({ timeout: 15_000 });
    await waitFor('the decoded thumbnail', async () =>
      (await thumb.evaluate((i: HTMLImageElement) => i.naturalWidth)) === 160 ? true : undefined,
    );
    await page.locator('#events').scrollIntoViewIfNeeded();
    await shot(page, 'events');
  });

  it('plays an uploaded recording in the page (HLS through hls.js)', { skip: hasFfmpeg ? false : 'ffmpeg is not installed' }, async () => {
    const eventId = 'evt-live-1';
    const recording = testRecording(join(dataDir, 'recording.mp4'), 320, 240, 4);
    assert.equal((await uploadToGateway(gateway, CAMERA, eventId, [{ name: 'recording.mp4', data: recording }])).status, 200);
    await waitFor('the playlist', async () =>
      (await api(`/api/media/playlist/${eventId}.m3u8`, { headers: { authorization: API_AUTH } })).status === 200 ? true : undefined,
    );
    await page
      .locator(`#event-list li[data-event="${eventId}"]`)
      .getByRole('button', { name: /Play the recording/ })
      .click();
    const video = page.locator('#event-player video');
    await video.waitFor();
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await waitFor('the video playing', async () =>
      (await video.evaluate((v: HTMLVideoElement) => v.currentTime)) > 0.5 ? true : undefined,
    );
    const size = await video.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight]);
    assert.deepEqual(size, [320, 240], 'the recording’s own frames');
    await page.locator('#event-player').getByRole('button', { name: 'Close player' }).click();
  });

  it('answers an event without a recording with a clear message, and keeps health and alerts readable when empty', async () => {
    await page
      .locator('#event-list li[data-event="evt-m-12"]')
      .getByRole('button', { name: /Play the recording/ })
      .click();
    await page
      .locator('#event-player')
      .getByText(/No recording to play/)
      .waitFor();
    await page
      .locator('#stream-table')
      .getByText(/No stream health/)
      .waitFor();
    await page
      .locator('#alert-table')
      .getByText(/No alerts sent yet/)
      .waitFor();
    await page.locator('#health').scrollIntoViewIfNeeded();
    await shot(page, 'health');
  });

  it('names every control, and reaches and presses a mode button with the keyboard', async () => {
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll('button, input, select, a[href], [role="button"]'))
        .filter((el) => {
          const e = el as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> };
          const byIds = (e.getAttribute('aria-labelledby') ?? '')
            .split(/\s+/)
            .map((id) => document.getElementById(id)?.textContent ?? '')
            .join('');
          const labels = Array.from(e.labels ?? [])
            .map((l) => l.textContent ?? '')
            .join('');
          return !(e.getAttribute('aria-label') || byIds.trim() || labels.trim() || e.textContent?.trim() || e.title);
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    assert.deepEqual(unnamed, []);

    commands.length = 0;
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.locator('#app-view h1').click();
    let focused = '';
    for (let i = 0; i < 40 && !focused.startsWith('Set '); i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
    }
    assert.equal(focused, 'Set Back Yard to Armed', 'the first camera card (sorted by name) comes first');
    await page.keyboard.press('Enter');
    const sent = await waitFor('the command sent from the keyboard', async () =>
      commands.find((c) => c.topic === `prod/honeycomb/${CAMERA2}/system/setmode`),
    );
    assert.equal(sent.payload.mode, 'ARMED');
  });

  it('fits a phone screen (390×844) without sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() });
    const p = await phone.newPage();
    await p.goto(`${base}/dashboard/`);
    await p.locator(`article[data-camera="${CAMERA}"]`).waitFor();
    // Charts are drawn once their panel is near the screen: on a phone, a few screens down.
    await p.locator(`section[data-device="${PI}"]`).scrollIntoViewIfNeeded();
    await p.locator(`section[data-device="${PI}"] canvas`).first().waitFor();
    await p.locator('#event-list li.event').first().waitFor();
    const overflow = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(overflow.scroll <= overflow.width, `page is ${overflow.scroll}px wide in a ${overflow.width}px screen`);
    await shot(p, 'phone');
    await phone.close();
  });

  it('logs out: the login shows again and the old cookie no longer opens the API', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'picam_session')!;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login-view').waitFor();
    await page.getByText('You are logged out.').waitFor();
    assert.equal(
      (await context.cookies()).find((c) => c.name === 'picam_session'),
      undefined,
      'the browser dropped it',
    );
    assert.equal((await api('/api/cameras', { headers: { cookie: `picam_session=${cookie.value}` } })).status, 401);
    assert.deepEqual(pageProblems, [], 'no script errors and no content security policy violations');
  });
});

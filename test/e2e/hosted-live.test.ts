/**
 * End to end: the dashboard's live video of an IP camera hosted by a Pi, in Debian's
 * Chromium against a real cloud runtime and its embedded broker. The Pi is an MQTT
 * client with the Pi's login that reports its camera `{pi}.door` and receives the
 * cloud's commands; MediaMTX's WHEP endpoint is played by this file (a second Chromium
 * page sends a canvas stream), and it has the path `{pi}.door` only once the Pi was
 * asked to relay it (and not at the player's first try: the relay takes a moment).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { answerWithCanvas } from '../support/whep-publisher';
import { waitFor } from '../support/wait';

const PI = 'pi-garden';
const HOSTED = `${PI}.door`;
const PLAY = `prod/honeycomb/${PI}/ipcam/door/stream/play`;

let runtime: CliProcess | undefined;
let base = '';
let internal = '';
let browser: Browser | undefined;
let page: Page;
let publisher: Page;
let whep: Server | undefined;
let pi: MqttClient | undefined;
const received: Array<{ topic: string; payload: Record<string, unknown> }> = [];
/** WHEP requests for the hosted path, and what each got */
const whepAnswers: number[] = [];
const dataDir = tempDir('picam-hosted-live-');

/** MediaMTX's WHEP endpoint: `{pi}.door` is published once the Pi was asked to relay, and after a first 404. */
function startWhep(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'POST, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'content-type, authorization');
    res.setHeader('Access-Control-Expose-Headers', 'Location');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    if (req.method === 'DELETE') return res.writeHead(200).end();
    const relayed = received.some((c) => c.topic === PLAY) && whepAnswers.length > 0;
    if (path !== `/${HOSTED}/whep` || !relayed) {
      if (path === `/${HOSTED}/whep`) whepAnswers.push(404);
      return res.writeHead(404, { 'content-type': 'text/plain' }).end('no stream is publishing to this path');
    }
    let offer = '';
    req.on('data', (d: Buffer) => (offer += d.toString()));
    req.on('end', () => {
      // As MediaMTX with authMethod http: ask the runtime, passing on the browser's bearer token.
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const ask = { user: '', password: '', token, ip: '127.0.0.1', action: 'read', path: HOSTED, protocol: 'webrtc', id: '', query: '' };
      fetch(`${internal}/mediamtx/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask) })
        .then((auth) => {
          whepAnswers.push(auth.status === 200 ? 201 : 401);
          if (auth.status !== 200) return void res.writeHead(401).end('authentication error');
          return publisher
            .evaluate(answerWithCanvas, offer)
            .then((answer) => res.writeHead(201, { 'content-type': 'application/sdp', location: `/${HOSTED}/whep/s1` }).end(answer));
        })
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

describe("a Pi's hosted camera in the dashboard", { skip: skipWithoutChromium }, () => {
  before(async () => {
    const [http, mqttPort, wsPort, whepPort, internalPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    base = `http://127.0.0.1:${http}`;
    internal = `http://127.0.0.1:${internalPort}`;
    runtime = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(
        dataDir,
        { http, mqtt: mqttPort, ws: wsPort, internal: internalPort },
        {
          PICAM_DASHBOARD_USERS: `alice:${bcrypt.hashSync('alice-secret', 4)}`,
          PICAM_WEBRTC_URL: `http://127.0.0.1:${whepPort}`,
        },
      ),
    );
    browser = await launchChromium(['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection']);
    publisher = await browser.newPage();
    whep = await startWhep(whepPort);
    const client = await waitFor(
      'the broker',
      () =>
        mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { ...LOGINS.devices, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
      RUNTIME_START_MS,
    );
    pi = client;
    await client.subscribeAsync(`prod/honeycomb/${PI}/#`, { qos: 1 });
    client.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await client.publishAsync(`prod/device/connection/picam/${PI}`, JSON.stringify({ status: 'connected', name: 'Garden Pi' }), { qos: 1 });
    await client.publishAsync(`prod/device/connection/ipcam/${PI}/door`, JSON.stringify({ status: 'connected', name: 'Garden Door' }), {
      qos: 1,
    });
    await waitFor('the hosted camera listed', async () => {
      const res = await fetch(`${base}/api/cameras`, { headers: { authorization: API_AUTH } }).catch(() => undefined);
      if (!res?.ok) return undefined;
      return ((await res.json()) as { cameras: Array<{ camera_id: string }> }).cameras.some((c) => c.camera_id === HOSTED)
        ? true
        : undefined;
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('alice-secret');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#app-view').waitFor();
  });

  after(async () => {
    await browser?.close();
    await pi?.endAsync();
    await new Promise((ok) => (whep ? whep.close(ok) : ok(undefined)));
    const code = await runtime?.stop();
    if (runtime) assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime.output()}`);
  });

  it('asks the Pi to relay, says so while the stream is not there yet, then plays it', async () => {
    const card = page.locator(`article[data-camera="${HOSTED}"]`);
    await card.getByRole('button', { name: 'Show live video of Garden Door' }).click();
    await card
      .locator('.video-status')
      .getByText(/Asking the Pi to relay…/)
      .waitFor();
    const ask = await waitFor('the relay request at the Pi', async () => received.find((c) => c.topic === PLAY));
    assert.equal(ask.payload.seconds, 60);
    const video = card.locator('video');
    await video.waitFor({ timeout: 20_000 });
    await waitFor(
      'decoded WebRTC frames',
      async () => ((await video.evaluate((v: HTMLVideoElement) => v.videoWidth)) === 320 ? true : undefined),
      20_000,
    );
    await card.locator('.video-status[data-state="ok"]').getByText('Live').waitFor();
    assert.deepEqual(whepAnswers.slice(0, 1), [404], 'the first try found no stream: the player looked again');
    assert.equal(whepAnswers.at(-1), 201, "MediaMTX's auth let the logged-in browser read the hosted path");
    await card.getByRole('button', { name: 'Show live video of Garden Door' }).click();
  });
});

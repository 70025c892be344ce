/**
 * End to end: the cloud role with Telegram and the webhook configured through
 * the environment, as an installer would. A camera's motion over MQTT reaches
 * the fake Bot API, a local webhook and a browser subscribed to Web Push (a local
 * push service that decrypts with the browser's keys); /arm from the chat reaches the camera
 * as a setmode command; the bot token stays out of the flow files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { PushService } from '../support/push-services';
import { BrowserSubscription } from '../support/web-push-receiver';
import { FakeTelegram, testPng } from '../support/fake-telegram';
import { activity, CAMERA, connected, topics } from '../support/fixtures';
import { rows } from '../support/records';
import { takeFreePorts } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';
import { rawZip, uploadToGateway } from '../support/zip';
import { uploadLikeCamera } from '../support/vbc01-upload';
import { randomUUID } from 'node:crypto';

/** Free ports, taken in the first hook: fixed ones collided with other tests run at the same time. */
const PORTS = { http: 0, mqtt: 0, ws: 0, webhook: 0, gateway: 0 };
let motionEventId = '';
/** the picture link of the motion alert's Web Push message */
let pushedPicture = '';
/** the thumbnail the camera uploaded for that event */
let uploadedPicture: Buffer | undefined;
const LOGIN = LOGINS.devices;
const CHAT = 4242;
const dir = tempDir('picam-alerts-e2e-');

let runtime: CliProcess;
let fake: FakeTelegram;
let camera: MqttClient;
let hook: Server;
let push: PushService;
let browserSub: BrowserSubscription;
const hooked: Array<Record<string, any>> = [];
const commands: Array<{ topic: string; payload: Record<string, unknown> }> = [];

before(async () => {
  await takeFreePorts(PORTS);
  fake = await FakeTelegram.start();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooked.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => hook.listen(PORTS.webhook, '127.0.0.1', ok));
  push = await PushService.start();
  browserSub = new BrowserSubscription(`${push.base}/push/phone`);
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(dir, PORTS, {
      PICAM_TIME_ZONE: 'UTC',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.url,
      TELEGRAM_CHAT_IDS: String(CHAT),
      PICAM_ALERT_WEBHOOK_URL: `http://127.0.0.1:${PORTS.webhook}/hooks/picam`,
      PICAM_CAMERAS: CAMERA,
      PICAM_PUBLIC_URL: `http://127.0.0.1:${PORTS.http}`,
    }),
  );
  camera = await waitFor(
    'the broker',
    () => mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.mqtt}`, { ...LOGIN, clientId: CAMERA, reconnectPeriod: 0 }).catch(() => undefined),
    RUNTIME_START_MS,
  );
  await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  camera.on('message', (topic, payload) => commands.push({ topic, payload: JSON.parse(payload.toString()) }));
  // A browser subscribes as the dashboard's bell does (the API user here, a session in the page).
  await waitFor('the Web Push subscription', async () => {
    const res = await fetch(`http://127.0.0.1:${PORTS.http}/api/push/subscriptions`, {
      method: 'POST',
      headers: { authorization: API_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: browserSub.endpoint, keys: { p256dh: browserSub.p256dh, auth: browserSub.auth } }),
    });
    return res.status === 201 ? true : undefined;
  });
});

after(async () => {
  await camera?.endAsync();
  const code = await runtime?.stop();
  await fake?.stop();
  await new Promise((ok) => hook?.close(ok));
  await push?.stop();
  assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
});

const publish = (topic: string, payload: unknown) => camera.publishAsync(topic, JSON.stringify(payload), { qos: 1 });

describe('cloud runtime: alerts', () => {
  it('tells the chat, the webhook and the subscribed browser about motion on an armed camera', async () => {
    await publish(topics.connection(), connected(Math.floor(Date.now() / 1000)));
    await publish(topics.state(), { mode: 'ARMED' });
    const eventId = `evt-e2e-${Date.now()}`;
    motionEventId = eventId;
    await publish(topics.start(), activity(eventId, Math.floor(Date.now() / 1000)));

    // Alone or in a digest with the online alert that came just before it.
    const motion = /Motion at Front Door|Front Door: Motion/;
    await fake.waitFor((f) => f.sent(CHAT).some((m) => motion.test(m.plain ?? '')), 15_000, 'the motion alert');
    const hookAlert = await waitFor('the webhook', async () => hooked.find((b) => b.alert?.eventId === eventId));
    assert.equal(hookAlert.alert.kind, 'activity');
    assert.equal(hookAlert.alert.deviceName, 'Front Door');

    const pushed = await waitFor('the Web Push message', async () =>
      push.requests.map((r) => JSON.parse(browserSub.decrypt(r.body).toString('utf8'))).find((p) => p.tag === eventId),
    );
    assert.match(pushed.title, motion);
    const image = new URL(pushed.image);
    assert.equal(`${image.origin}${image.pathname}`, `http://127.0.0.1:${PORTS.http}/api/media/picture`, 'a signed picture link');
    assert.equal(image.searchParams.get('e'), eventId);
    pushedPicture = pushed.image;
    assert.match(pushed.url, new RegExp(`^http://127\\.0\\.0\\.1:${PORTS.http}/dashboard/event\\?`), 'a tap opens the event');

    const db = join(dir, 'picam-guardian.db');
    const sent = await waitFor('every row sent', async () => {
      const r = await rows<{ channel: string; state: string }>(db, 'SELECT channel, state FROM alerts_outbox WHERE event_id = ?', [
        eventId,
      ]);
      return r.length === 3 && r.every((x) => x.state === 'sent') ? r : undefined;
    });
    assert.deepEqual(sent.map((r) => r.channel).sort(), ['telegram', 'webhook', 'webpush']);
    const [event] = await waitFor('the event row notified', async () => {
      const r = await rows<{ telegram_notified: number }>(db, 'SELECT telegram_notified FROM activity_events WHERE event_id = ?', [
        eventId,
      ]);
      return r[0]?.telegram_notified === 1 ? r : undefined;
    });
    assert.equal(event!.telegram_notified, 1);
  });

  it("adds the thumbnail the camera uploads to the gateway to that motion alert's message", async () => {
    const picture = testPng(4, 3, 99);
    uploadedPicture = picture;
    const res = await uploadToGateway(`http://127.0.0.1:${PORTS.gateway}`, CAMERA, motionEventId, [
      { name: 'thumbnail.png', data: picture },
    ]);
    assert.equal(res.status, 200, await res.clone().text());
    await fake.waitFor((f) => f.sent(CHAT).some((m) => m.photoBytes?.equals(picture) ?? false), 15_000, 'the picture in the chat');
    const photo = fake.sent(CHAT).find((m) => m.photoBytes?.equals(picture))!;
    const alert = fake.sent(CHAT).find((m) => /Motion at Front Door|Front Door: Motion/.test(m.plain ?? ''))!;
    assert.ok(
      photo.replyTo === alert.messageId || photo.messageId === alert.messageId,
      'the picture answers (or replaces) the alert it belongs to',
    );
  });

  it("opens the Web Push message's picture without a login, and only with a valid signature", async () => {
    assert.ok(pushedPicture && uploadedPicture, 'the tests above ran');
    // As the phone fetches it: no cookie, no Authorization.
    const res = await fetch(pushedPicture);
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(uploadedPicture), 'the picture the camera uploaded');

    const changed = (key: string, value: string | undefined) => {
      const url = new URL(pushedPicture);
      if (value === undefined) url.searchParams.delete(key);
      else url.searchParams.set(key, value);
      return url.toString();
    };
    const sig = new URL(pushedPicture).searchParams.get('s')!;
    const refused = {
      'another event': changed('e', `${motionEventId}-other`),
      'a later expiry': changed('x', String(Number(new URL(pushedPicture).searchParams.get('x')) + 86_400_000)),
      // One character well inside it: the last ones carry base64 padding bits, and could decode the same.
      'a changed signature': changed('s', `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`),
      'no signature': changed('s', undefined),
    };
    for (const [what, url] of Object.entries(refused)) {
      const r = await fetch(url);
      assert.equal(r.status, 403, `${what}: ${await r.text()}`);
    }
    // The event link's signature opens no picture: each purpose signs with its own key.
    const eventLink = new URL(
      push.requests.map((r) => JSON.parse(browserSub.decrypt(r.body).toString('utf8'))).find((p) => p.tag === motionEventId).url,
    );
    const asPicture = new URL(pushedPicture);
    asPicture.search = eventLink.search;
    assert.equal((await fetch(asPicture)).status, 403, 'an event link is no picture link');
    // The API's own thumbnail route still needs the login.
    assert.equal((await fetch(`http://127.0.0.1:${PORTS.http}/api/media/thumbnail/${motionEventId}`)).status, 401);
  });

  it('lists an event whose thumbnail came before its start at once, and alerts once, with the start', async () => {
    const eventId = randomUUID();
    const picture = testPng(5, 4, 7);
    const gateway = `http://127.0.0.1:${PORTS.gateway}`;
    const thumb = rawZip([{ name: 'thumbnail.png', data: picture }]);
    // A person (MOTION_SMART): the motion alert above started a cooldown for plain MOTION.
    const put = await uploadLikeCamera(gateway, {
      fileName: `${eventId}-0-0.zip`,
      category: 'thumbnail',
      cameraId: CAMERA,
      zip: thumb,
      meta: { activityType: 'MOTION_SMART' },
    });
    assert.equal(put.status, 200, await put.clone().text());

    // The upload made the event (as the real platform): in the list, with its thumbnail, before any start.
    type Listed = { event_id: string; activity_type: string; has_thumbnail: boolean };
    const listed = async () => {
      const res = await fetch(`http://127.0.0.1:${PORTS.http}/api/events?cameraId=${CAMERA}`, { headers: { authorization: API_AUTH } });
      return ((await res.json()) as { events: Listed[] }).events.find((e) => e.event_id === eventId);
    };
    const early = await waitFor('the event listed before its start', listed);
    assert.deepEqual({ type: early.activity_type, thumbnail: early.has_thumbnail }, { type: 'MOTION_SMART', thumbnail: true });
    const db = join(dir, 'picam-guardian.db');
    const alertRows = () =>
      rows<{ channel: string; state: string }>(db, "SELECT channel, state FROM alerts_outbox WHERE event_id = ? AND item = 'alert'", [
        eventId,
      ]);
    assert.deepEqual(await alertRows(), [], 'no alert for an upload');

    await publish(topics.start(), activity(eventId, Math.floor(Date.now() / 1000), 'MOTION_SMART'));
    await fake.waitFor((f) => f.sent(CHAT).some((m) => m.photoBytes?.equals(picture) ?? false), 15_000, 'the alert with its picture');
    const sent = await waitFor('the alert delivered', async () => {
      const r = await alertRows();
      return r.length > 0 && r.every((x) => x.state === 'sent') ? r : undefined;
    });
    assert.deepEqual(sent.map((r) => r.channel).sort(), ['telegram', 'webhook', 'webpush'], 'one alert per channel');
  });

  it('lists the deliveries in the alert log of the API', async () => {
    const res = await fetch(`http://127.0.0.1:${PORTS.http}/api/alerts?state=sent`, { headers: { authorization: API_AUTH } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { alerts: Array<{ channel: string; kind: string; state: string }> };
    assert.ok(body.alerts.some((a) => a.channel === 'telegram' && a.kind === 'activity'));
    assert.ok(body.alerts.every((a) => a.state === 'sent'));
  });

  it('arms a camera from the chat: /disarm reaches the camera as a setmode command', async () => {
    fake.userSays(CHAT, '/disarm Front Door');
    const command = await waitFor('the setmode command', async () => commands.find((c) => c.topic.endsWith('/system/setmode')));
    assert.equal(command.payload.mode, 'LIVESTREAMONLY');
    await fake.waitFor((f) => f.sent(CHAT).some((m) => /Disarming/.test(m.plain ?? '')), 10_000, 'the reply');
  });

  it("disarms the camera from the alert's button, and its Open button is a signed link the dashboard honours", async () => {
    const eventId = `evt-button-${Date.now()}`;
    await publish(topics.state(), { mode: 'ARMED' });
    // PERSON: the motion alerts before are within the flow's 60 s cooldown for MOTION.
    await publish(topics.start(), activity(eventId, Math.floor(Date.now() / 1000), 'PERSON'));
    let alert: ReturnType<FakeTelegram['sent']>[number] | undefined;
    await fake.waitFor(
      (f) => !!(alert = f.sent(CHAT).find((m) => m.buttons && (m.plain ?? '').includes(eventId))),
      15_000,
      'the alert with its buttons',
    );
    const buttons = alert!.buttons!.flat();
    const open = buttons.find((b) => b.text === 'Open in dashboard')!;
    const link = await fetch(open.url!, { redirect: 'manual' });
    assert.equal(link.status, 302);
    assert.equal(link.headers.get('location')?.startsWith(`/dashboard/#event=${CAMERA}/${eventId}/`), true);

    const before = commands.length;
    fake.userPresses(CHAT, alert!.messageId, buttons.find((b) => b.text === 'Disarm this camera')!.callback_data!);
    const command = await waitFor('the setmode command', async () =>
      commands.slice(before).find((c) => c.topic.endsWith('/system/setmode')),
    );
    assert.equal(command.payload.mode, 'LIVESTREAMONLY');
    await fake.waitFor((f) => f.callbackAnswers.some((a) => /Disarming Front Door/.test(a.text ?? '')), 10_000, 'the press answered');
  });

  it('keeps the bot token out of the flow files', () => {
    assert.ok(!readFileSync(join(dir, 'flows.json'), 'utf8').includes(fake.token));
    assert.ok(!readFileSync(join(dir, 'flows_cred.json'), 'utf8').includes(fake.token), 'encrypted');
  });
});

/**
 * webpush-alert in a real Node-RED runtime with a real SQLite database, against a local push
 * service that decrypts each message with the subscribing browser's keys (test/support/
 * web-push-receiver.ts) and checks the VAPID signature.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import databaseNode from '../../../nodes/picam-database/picam-database';
import webPushNode from '../../../nodes/webpush-alert/webpush-alert';
import { motionAlert } from '../../support/fixtures';
import { jpeg, PushService } from '../../support/push-services';
import { httpNodeServer } from '../../support/http-node';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { BrowserSubscription, verifyVapid } from '../../support/web-push-receiver';
import { Collector, helper, node, rows, sleep, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const http = httpNodeServer('/api/push');

const dir = tempDir();
let n = 0;
let push: PushService;
beforeEach(async () => {
  push = await PushService.start();
});
afterEach(() => push.stop());

async function load(props: Record<string, unknown> = {}, opensDatabase = true) {
  const file = join(dir, `webpush${n++}.db`);
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    {
      id: 'wp',
      type: 'webpush-alert',
      database: 'db',
      modes: 'ARMED',
      cooldownSeconds: 0,
      quietAction: 'silent',
      timeZone: 'UTC',
      timeoutSeconds: 2,
      publicUrl: 'https://cams.example.org',
      subject: 'mailto:owner@example.org',
      ...props,
      wires: [['reports']],
    },
    { id: 'reports', type: 'helper' },
  ];
  await helper.load([databaseNode, webPushNode, http.expose], flow);
  if (opensDatabase)
    await waitFor(
      'migration 18 applied',
      async () => ((await rows(file, 'SELECT count(*) AS n FROM webpush_subscriptions').catch(() => undefined)) ? true : undefined),
      5000,
    );
  return { file, reports: new Collector('reports') };
}

/** A browser subscribing, as the dashboard's subscribe route stores it. */
function subscribe(file: string, sub: BrowserSubscription, username = 'admin'): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file);
    db.run(
      'INSERT INTO webpush_subscriptions (endpoint, username, p256dh, auth, created_ms) VALUES (?, ?, ?, ?, ?)',
      [sub.endpoint, username, sub.p256dh, sub.auth, Date.now()],
      (err) => db.close(() => (err ? reject(err) : resolve())),
    );
  });
}

const reportsWith = (c: Collector, status: string) => c.msgs.filter((m) => m.payload.status === status);

describe('webpush-alert node', () => {
  it('sends each subscribed browser the alert encrypted for it, with the picture link, signed with the kept VAPID key', async () => {
    const { reports, file } = await load();
    const phone = new BrowserSubscription(`${push.base}/push/phone`);
    const laptop = new BrowserSubscription(`${push.base}/push/laptop`);
    await subscribe(file, phone);
    await subscribe(file, laptop, 'viewer');
    node('wp').receive({ payload: motionAlert('evt-1', { image: jpeg(1) }) });
    await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    assert.equal(push.requests.length, 2);
    const [keys] = await rows<{ public_key: string }>(file, 'SELECT public_key FROM webpush_keys');
    for (const [sub, path] of [
      [phone, '/push/phone'],
      [laptop, '/push/laptop'],
    ] as const) {
      const req = push.requests.find((r) => r.url === path)!;
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['content-encoding'], 'aes128gcm');
      assert.equal(req.headers.ttl, '86400');
      const vapid = verifyVapid(String(req.headers.authorization));
      assert.equal(vapid.aud, push.base, 'the audience is the push service origin');
      assert.equal(vapid.sub, 'mailto:owner@example.org');
      assert.equal(vapid.publicKey, keys!.public_key, 'signed with the key kept in the database');
      const payload = JSON.parse(sub.decrypt(req.body).toString('utf8'));
      assert.equal(payload.title, '🏃 Motion at Front Door');
      assert.match(payload.body, /Fri 27 Nov, 01:02:03/);
      assert.equal(payload.image, 'https://cams.example.org/api/media/thumbnail/evt-1', 'the picture link');
      assert.equal(payload.url, 'https://cams.example.org/dashboard/');
      assert.equal(payload.tag, 'evt-1');
    }
    assert.throws(() => laptop.decrypt(push.requests.find((r) => r.url === '/push/phone')!.body), 'only the phone can read its message');
  });

  it('keeps the VAPID key pair across restarts of the node', async () => {
    const { file } = await load();
    await subscribe(file, new BrowserSubscription(`${push.base}/push/a`));
    node('wp').receive({ payload: motionAlert('evt-k1') });
    await until('first push', () => push.requests[0], 5000);
    const first = verifyVapid(String(push.requests[0]!.headers.authorization)).publicKey;
    await helper.unload();
    await helper.load(
      [databaseNode, webPushNode],
      [
        { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL' },
        { id: 'wp', type: 'webpush-alert', database: 'db', modes: 'ARMED', cooldownSeconds: 0, timeZone: 'UTC', wires: [[]] },
      ],
    );
    node('wp').receive({ payload: motionAlert('evt-k2') });
    await until('second push', () => push.requests[1], 5000);
    assert.equal(verifyVapid(String(push.requests[1]!.headers.authorization)).publicKey, first);
  });

  it('keeps the VAPID private key sealed under the credential secret, and signs with it', async () => {
    helper.settings({ credentialSecret: 'webpush-test-secret' });
    try {
      const { file } = await load();
      const phone = new BrowserSubscription(`${push.base}/push/sealed`);
      await subscribe(file, phone);
      node('wp').receive({ payload: motionAlert('evt-sealed') });
      await until('pushed', () => push.requests[0], 5000);
      const [stored] = await rows<{ public_key: string; private_key: string }>(file, 'SELECT public_key, private_key FROM webpush_keys');
      assert.match(stored!.private_key, /^sb1:/, 'sealed at rest');
      assert.equal(verifyVapid(String(push.requests[0]!.headers.authorization)).publicKey, stored!.public_key);
      assert.equal(JSON.parse(phone.decrypt(push.requests[0]!.body).toString()).tag, 'evt-sealed');
    } finally {
      helper.settings({});
    }
  });

  it('retries while the push service fails and delivers once it is back; forgets a browser whose service answers 410', async () => {
    const { reports, file } = await load();
    const sub = new BrowserSubscription(`${push.base}/push/x`);
    await subscribe(file, sub);
    push.answerNext({ status: 503 });
    node('wp').receive({ payload: motionAlert('evt-retry') });
    await until('retrying', () => reportsWith(reports, 'retrying')[0], 5000);
    await until('sent', () => reportsWith(reports, 'sent')[0], 15_000);
    assert.equal(JSON.parse(sub.decrypt(push.requests.at(-1)!.body).toString()).tag, 'evt-retry');

    push.answerNext({ status: 410 });
    node('wp').receive({ payload: motionAlert('evt-gone') });
    await waitFor(
      'the gone browser forgotten',
      async () => ((await rows(file, 'SELECT * FROM webpush_subscriptions')).length === 0 ? true : undefined),
      5000,
    );
    // Nobody subscribed now: the alert is not queued (a failed row per alert would fill the alert log).
    node('wp').receive({ payload: motionAlert('evt-nobody') });
    const back = new BrowserSubscription(`${push.base}/push/y`);
    await subscribe(file, back);
    node('wp').receive({ payload: motionAlert('evt-back') });
    await until('sent again', () => reportsWith(reports, 'sent').find((r) => r.payload.eventId === 'evt-back'), 15_000);
    assert.deepEqual(
      reports.msgs.filter((r) => r.payload.eventId === 'evt-nobody'),
      [],
      'no report for an alert nobody could receive',
    );
    assert.deepEqual(await rows(file, "SELECT id FROM alerts_outbox WHERE event_id = 'evt-nobody'"), []);
    await sleep(100);
  });

  it('is off at deploy with a contact that is no mailto: or https: address', async () => {
    const { reports } = await load({ subject: 'owner@example.org' }, false);
    node('wp').receive({ payload: motionAlert('off') });
    const [r] = await reports.wait(1);
    assert.equal(r!.payload.status, 'suppressed');
    assert.match(r!.payload.reason, /webpush-alert is off: contact "owner@example.org" is not a mailto: or https: address/);
  });

  it('takes a browser subscription through /api/push (the dashboard bell) and the next alert reaches that browser', async () => {
    const { reports } = await load();
    const key = (await (await http.fetch('/key')).json()) as { publicKey: string };
    const browser = new BrowserSubscription(`${push.base}/push/from-api`);
    const res = await http.fetch('/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: browser.endpoint, keys: { p256dh: browser.p256dh, auth: browser.auth } }),
    });
    assert.equal(res.status, 201, await res.text());
    node('wp').receive({ payload: motionAlert('evt-api') });
    await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    const req = push.requests[0]!;
    assert.equal(req.url, '/push/from-api');
    assert.equal(verifyVapid(String(req.headers.authorization)).publicKey, key.publicKey, 'the key the browser subscribed with');
    assert.equal(JSON.parse(browser.decrypt(req.body).toString()).tag, 'evt-api');

    const gone = await http.fetch(`/subscriptions?endpoint=${encodeURIComponent(browser.endpoint)}`, { method: 'DELETE' });
    assert.equal(gone.status, 204);
    const again = await http.fetch(`/subscriptions?endpoint=${encodeURIComponent(browser.endpoint)}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });

  it('refuses a bad subscription with a 400 and the reason, and stores nothing', async () => {
    const { file } = await load();
    const b = new BrowserSubscription('https://push.example.org/x');
    const cases: Array<[unknown, RegExp]> = [
      [{ endpoint: 'http://push.example.org/x', keys: { p256dh: b.p256dh, auth: b.auth } }, /endpoint must be an https:\/\/ URL/],
      [{ endpoint: 'not a url', keys: { p256dh: b.p256dh, auth: b.auth } }, /endpoint is not a URL/],
      [{ endpoint: b.endpoint, keys: { p256dh: 'AAAA', auth: b.auth } }, /keys.p256dh must be an uncompressed P-256 public key/],
      [{ endpoint: b.endpoint, keys: { p256dh: b.p256dh, auth: 'short' } }, /keys.auth must be 16 bytes/],
      [{ keys: {} }, /endpoint must be a URL string/],
    ];
    for (const [body, why] of cases) {
      const res = await http.fetch('/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(((await res.json()) as { error: string }).error, why);
    }
    const broken = await http.fetch('/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"endpoint":',
    });
    assert.equal(broken.status, 400, 'a body that is no JSON');
    const noEndpoint = await http.fetch('/subscriptions', { method: 'DELETE' });
    assert.equal(noEndpoint.status, 400);
    assert.deepEqual(await rows(file, 'SELECT * FROM webpush_subscriptions'), []);
  });
});

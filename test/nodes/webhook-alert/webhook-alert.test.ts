/**
 * webhook-alert in a real Node-RED runtime with a real SQLite outbox, against
 * a local HTTP receiver (below) that records every request and can be told
 * how to answer the next ones.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import webhookNode from '../../../nodes/webhook-alert/webhook-alert';
import { CAMERA, motionAlert } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
  atMs: number;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
}

/** An HTTP endpoint on 127.0.0.1: records each request; answers 200 unless told otherwise. */
class Receiver {
  readonly requests: Received[] = [];
  private readonly script: Answer[] = [];
  private server?: Server;
  port = 0;

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await r.listen(0);
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next requests get these answers, in order. */
  answerNext(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  /** Listens on `port` (0: a random one; the same one again after `stop()`). */
  listen(port = this.port): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, any>;
        try {
          body = JSON.parse(raw);
        } catch {
          body = { unparsable: raw };
        }
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, atMs: Date.now() });
        const answer = this.script.shift() ?? { status: 200 };
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify({ ok: answer.status < 300 }));
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Closes the port: connections are refused until `listen()` again. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

const dir = tempDir();
let n = 0;
let hook: Receiver;
beforeEach(async () => {
  hook = await Receiver.start();
});
afterEach(() => hook.stop());

interface Options {
  url?: string;
  authorization?: string;
  alert?: Record<string, unknown>;
}

/** database → webhook node `wa` → `reports`, on a fresh database file. */
async function load(o: Options = {}) {
  const file = join(dir, `webhook${n++}.db`);
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    {
      id: 'wa',
      type: 'webhook-alert',
      database: 'db',
      url: o.url ?? hook.url,
      modes: 'ARMED',
      cooldownSeconds: 0,
      quietAction: 'silent',
      timeZone: 'UTC',
      timeoutSeconds: 2,
      giveUpHours: 24,
      includeImages: true,
      ...o.alert,
      wires: [['reports']],
    },
    { id: 'reports', type: 'helper' },
  ];
  const credentials = o.authorization === undefined ? {} : { wa: { authorization: o.authorization } };
  await helper.load([databaseNode, webhookNode], flow, credentials);
  return { file, reports: new Collector('reports') };
}

const motion = motionAlert;

/** Bytes that stand in for a JPEG: the node only moves them. */
const jpeg = (seed: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, seed, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9]);

const reportsWith = (c: Collector, status: string) => c.msgs.filter((m) => m.payload.status === status);

const outbox = (file: string) =>
  rows<{ id: number; state: string; item: string; attempts: number; last_error: string | null }>(
    file,
    'SELECT id, state, item, attempts, last_error FROM alerts_outbox ORDER BY id',
  );

describe('webhook-alert node', () => {
  it('POSTs an alert as JSON with the Authorization header, reports it sent and marks the row sent', async () => {
    const { reports, file } = await load({ authorization: 'Bearer s3cret' });
    node('wa').receive({ payload: motion('evt-1') });
    const report = await until('sent report', () => reportsWith(reports, 'sent')[0], 5000);
    assert.equal(hook.requests.length, 1);
    const req = hook.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/hook');
    assert.match(req.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(req.headers.authorization, 'Bearer s3cret');

    const [row] = await outbox(file);
    assert.equal(req.body.id, row!.id, 'id is the outbox row');
    assert.equal(req.body.item, 'alert');
    assert.deepEqual(req.body.alert, JSON.parse(JSON.stringify(motion('evt-1'))), 'the alert fields as they arrived');
    assert.equal(typeof req.body.summary, 'string');
    assert.match(req.body.summary, /Front Door/);
    assert.doesNotMatch(req.body.summary, /<\/?[bi]>|&lt;|&amp;/, 'plain text, no markup');
    assert.equal(
      req.body.summary.split('\n')[0],
      '🏃 Motion at Front Door · Fri 27 Nov, 01:02:03',
      'the headline, in the configured time zone',
    );
    assert.equal(req.body.image, undefined, 'an alert without a picture has no image');

    assert.equal(report.topic, 'delivery/sent');
    assert.equal(report.payload.status, 'sent');
    assert.equal(report.payload.channel, 'webhook');
    assert.equal(report.payload.target, hook.host);
    assert.equal(report.payload.eventId, 'evt-1');
    assert.equal(report.payload.kind, 'activity');
    assert.equal(report.payload.outboxId, row!.id);
    assert.equal(report.payload.attempts, 1);
    assert.equal(row!.state, 'sent');
  });

  it('sends no Authorization header when none is configured', async () => {
    const { reports } = await load();
    node('wa').receive({ payload: motion('evt-noauth') });
    await until('sent report', () => reportsWith(reports, 'sent')[0], 5000);
    assert.equal(hook.requests[0]!.headers.authorization, undefined);
  });

  it("puts an alert's picture into the body as base64, and leaves it out when pictures are off", async () => {
    const picture = jpeg(7);
    const on = await load();
    node('wa').receive({ payload: motion('evt-img', { image: picture }) });
    await until('sent report', () => reportsWith(on.reports, 'sent')[0], 5000);
    const withImage = hook.requests[0]!.body;
    assert.deepEqual(withImage.image, { contentType: 'image/jpeg', base64: picture.toString('base64') });
    assert.deepEqual(Buffer.from(withImage.image.base64, 'base64'), picture, 'the same bytes arrive');
    assert.equal(withImage.alert.image, undefined, 'the bytes are not in the alert too');
    await helper.unload();

    const off = await load({ alert: { includeImages: false } });
    node('wa').receive({ payload: motion('evt-img', { image: picture }) });
    await until('sent report', () => reportsWith(off.reports, 'sent')[0], 5000);
    assert.equal(hook.requests.length, 2);
    const withoutImage = hook.requests[1]!.body;
    assert.equal(withoutImage.item, 'alert');
    assert.equal('image' in withoutImage, false);
    assert.equal(withoutImage.alert.image, undefined);
  });

  it('retries a 503 with backoff and sends the same id again, so the receiver can spot the retry', async () => {
    hook.answerNext({ status: 503 });
    const { reports, file } = await load();
    node('wa').receive({ payload: motion('evt-503') });
    const sent = await until('sent report', () => reportsWith(reports, 'sent')[0], 8000);
    const retrying = reportsWith(reports, 'retrying');
    assert.equal(retrying.length, 1);
    assert.match(retrying[0]!.payload.reason, new RegExp(`127\\.0\\.0\\.1:${hook.port} answered HTTP 503`));
    assert.equal(retrying[0]!.payload.target, hook.host);
    assert.ok(reports.msgs.indexOf(retrying[0]!) < reports.msgs.indexOf(sent), 'retrying, then sent');
    assert.equal(sent.payload.attempts, 2);
    await sleep(200);
    assert.equal(hook.requests.length, 2, 'one failed request, one retry, nothing more');
    assert.equal(hook.requests[0]!.body.id, hook.requests[1]!.body.id);
    assert.deepEqual(hook.requests[0]!.body, hook.requests[1]!.body, 'the retry is the same body');
    const [row] = await outbox(file);
    assert.equal(row!.state, 'sent');
  });

  it("waits out a 429's Retry-After before retrying", async () => {
    hook.answerNext({ status: 429, headers: { 'retry-after': '1' } });
    const { reports } = await load();
    node('wa').receive({ payload: motion('evt-429') });
    await until('sent report', () => reportsWith(reports, 'sent')[0], 8000);
    const retrying = reportsWith(reports, 'retrying');
    assert.equal(retrying.length, 1);
    assert.match(retrying[0]!.payload.reason, /answered HTTP 429/);
    assert.match(retrying[0]!.payload.reason, /retry in 1 s/);
    await sleep(200);
    assert.equal(hook.requests.length, 2);
    assert.equal(hook.requests[0]!.body.id, hook.requests[1]!.body.id);
    const gap = hook.requests[1]!.atMs - hook.requests[0]!.atMs;
    assert.ok(gap >= 1000, `the retry came ${gap} ms after the 429`);
  });

  it('fails at once on a 400, without retrying', async () => {
    hook.answerNext({ status: 400 });
    const { reports, file } = await load();
    const warnings = spy('wa', 'warn');
    node('wa').receive({ payload: motion('evt-400') });
    const failed = await until('failed report', () => reportsWith(reports, 'failed')[0], 5000);
    assert.match(failed.payload.reason, new RegExp(`^${hook.host} answered HTTP 400`));
    assert.equal(failed.payload.target, hook.host);
    assert.equal(failed.payload.eventId, 'evt-400');
    await until('a warning', () => warnings.some((w) => /answered HTTP 400/.test(text(w))));
    await sleep(2500); // longer than the first backoff could be
    assert.equal(hook.requests.length, 1, 'no retry');
    assert.equal(reportsWith(reports, 'retrying').length, 0);
    assert.equal(reportsWith(reports, 'sent').length, 0);
    const [row] = await outbox(file);
    assert.equal(row!.state, 'failed');
    assert.match(row!.last_error ?? '', /HTTP 400/);
  });

  it('keeps an alert while the endpoint is down and delivers it once when it is back', async () => {
    await hook.stop();
    const { reports, file } = await load();
    node('wa').receive({ payload: motion('evt-down') });
    const retrying = await until('a retry reported', () => reportsWith(reports, 'retrying')[0], 5000);
    assert.match(retrying.payload.reason, new RegExp(`127\\.0\\.0\\.1:${hook.port}: ECONNREFUSED`));
    const [waiting] = await outbox(file);
    assert.equal(waiting!.state, 'pending', 'the alert waits in the outbox');

    await hook.listen(); // the same port
    const sent = await until('sent once back', () => reportsWith(reports, 'sent')[0], 10_000);
    assert.equal(sent.payload.eventId, 'evt-down');
    await sleep(300);
    assert.equal(hook.requests.length, 1, 'delivered exactly once');
    assert.equal(hook.requests[0]!.body.alert.eventId, 'evt-down');
    assert.equal(reportsWith(reports, 'sent').length, 1);
    const [row] = await outbox(file);
    assert.equal(row!.state, 'sent');
  });

  it('POSTs the clip after its alert as item "clip", with the clip URL under the public address or as the API path', async () => {
    const clipOf = (eventId: string, state: 'ready' | 'failed' = 'ready') => ({
      cameraId: CAMERA,
      eventId,
      state,
      startMs: Date.UTC(2026, 10, 27, 1, 1, 58),
      endMs: Date.UTC(2026, 10, 27, 1, 2, 20),
      durationMs: state === 'ready' ? 22_000 : null,
      bytes: state === 'ready' ? 123_456 : null,
      url: `/api/recordings/${CAMERA}/clips/${eventId}`,
      file: state === 'ready' ? '/var/lib/picam/recordings/clip.mp4' : null,
      ...(state === 'failed' ? { reason: 'no segments around the event' } : {}),
    });
    await load({ alert: { publicUrl: 'https://cams.example.org/picam/' } });
    node('wa').receive({ topic: 'clip/ready', payload: clipOf('wh-clip') }); // before its alert: it waits for it
    node('wa').receive({ payload: motion('wh-clip') });
    await until('alert and clip POSTed', () => hook.requests.length === 2, 10_000);
    const [alert, clip] = hook.requests;
    assert.equal(alert!.body.item, 'alert', 'the alert first');
    assert.equal(clip!.body.item, 'clip');
    assert.equal(clip!.body.clipUrl, `https://cams.example.org/picam/api/recordings/${CAMERA}/clips/wh-clip`);
    assert.equal(clip!.body.alert.eventId, 'wh-clip');
    assert.equal(clip!.body.alert.durationMs, 22_000);
    assert.equal(clip!.body.alert.file, undefined, "the runtime's file path stays here");
    assert.match(clip!.body.summary, /clip of event wh-clip .* ready \(22 s\)/);

    node('wa').receive({ topic: 'clip/failed', payload: clipOf('wh-clip', 'failed') });
    await until('the failed clip POSTed too', () => hook.requests.length === 3, 10_000);
    assert.equal(hook.requests[2]!.body.alert.state, 'failed');
    assert.match(hook.requests[2]!.body.summary, /failed: no segments/);
  });

  it('gives the API path as the clip URL without a public address', async () => {
    await load();
    node('wa').receive({ payload: motion('wh-clip2') });
    node('wa').receive({
      topic: 'clip/ready',
      payload: {
        cameraId: CAMERA,
        eventId: 'wh-clip2',
        startMs: 1,
        endMs: 2,
        durationMs: 1,
        bytes: 1,
        url: `/api/recordings/${CAMERA}/clips/wh-clip2`,
        file: '/tmp/x.mp4',
      },
    });
    await until('alert and clip POSTed', () => hook.requests.length === 2, 10_000);
    assert.equal(hook.requests[1]!.body.clipUrl, `/api/recordings/${CAMERA}/clips/wh-clip2`);
  });

  it('POSTs a snapshot that arrives after its alert was sent as item "snapshot", reported updated', async () => {
    const { reports } = await load();
    node('wa').receive({ payload: motion('evt-snap') });
    await until('alert sent', () => reportsWith(reports, 'sent')[0], 5000);
    const picture = jpeg(9);
    node('wa').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-snap', image: picture } });
    const updated = await until('snapshot reported', () => reportsWith(reports, 'updated')[0], 5000);
    assert.equal(updated.payload.kind, 'snapshot');
    assert.equal(updated.payload.eventId, 'evt-snap');
    assert.equal(updated.payload.target, hook.host);
    assert.equal(hook.requests.length, 2);
    const snap = hook.requests[1]!.body;
    assert.equal(snap.item, 'snapshot');
    assert.equal(snap.alert.kind, 'snapshot');
    assert.equal(snap.alert.eventId, 'evt-snap');
    assert.equal(snap.alert.deviceId, CAMERA);
    assert.equal(snap.alert.image, undefined);
    assert.notEqual(snap.id, hook.requests[0]!.body.id, 'a row of its own');
    assert.deepEqual(Buffer.from(snap.image.base64, 'base64'), picture);
    assert.equal(reportsWith(reports, 'sent').length, 1, 'the snapshot is not a second alert');
  });

  for (const [label, url, why] of [
    ['an empty URL', '', /webhook-alert is off: no URL/],
    ['a non-http URL', 'ftp://x', /webhook-alert is off: not an http\(s\) URL: ftp:\/\/x/],
  ] as const) {
    it(`is off with ${label}, and says so on every input`, async () => {
      const { reports } = await load({ url });
      const statuses = spy('wa', 'status');
      node('wa').receive({ payload: motion('off-1') });
      node('wa').receive({ payload: 'the garage door is open' });
      const [first, second] = await reports.wait(2);
      for (const r of [first!, second!]) {
        assert.equal(r.topic, 'delivery/suppressed');
        assert.equal(r.payload.status, 'suppressed');
        assert.equal(r.payload.channel, 'webhook');
        assert.match(r.payload.reason, why);
      }
      assert.equal(first!.payload.eventId, 'off-1');
      assert.equal(first!.payload.kind, 'activity');
      await sleep(200);
      assert.equal(hook.requests.length, 0, 'no request made');
      assert.ok(statuses.every((s) => /off/.test(JSON.stringify(s.args))));
    });
  }

  it('fills in the body template: fields JSON-escaped inside strings, as JSON values outside', async () => {
    const template =
      '{"msg": "{{headline}}: {{text}}", "camera": "{{deviceName}}", "at": {{timeMs}}, "event": {{eventId}}, "mode": "{{mode}}"}';
    const { reports } = await load({ alert: { bodyTemplate: template } });
    node('wa').receive({ payload: motion('evt-tpl', { text: 'he said "go"\nnow \\ here' }) });
    await until('sent report', () => reportsWith(reports, 'sent')[0], 5000);
    assert.deepEqual(hook.requests[0]!.body, {
      msg: '🏃 Motion at Front Door: he said "go"\nnow \\ here',
      camera: 'Front Door',
      at: Date.UTC(2026, 10, 27, 1, 2, 3),
      event: 'evt-tpl',
      mode: 'ARMED',
    });
    assert.match(hook.requests[0]!.headers['content-type'] ?? '', /^application\/json/);
  });

  for (const [label, template, why] of [
    ['an unknown field', '{"a": "{{nope}}"}', /body template: unknown field \{\{nope\}\} \(fields: id, item, kind/],
    ['a template that is no JSON', '{"a": {{text}}', /body template is not JSON once filled in/],
    ['a field never closed', '{"a": "{{text"}', /body template: "\{\{" at 8 is never closed/],
  ] as const) {
    it(`is off at deploy with ${label} in the body template, and says why on its status and every input`, async () => {
      const { reports } = await load({ alert: { bodyTemplate: template } });
      node('wa').receive({ payload: motion('tpl-off') });
      const [r] = await reports.wait(1);
      assert.equal(r!.payload.status, 'suppressed');
      assert.match(r!.payload.reason, why);
      assert.match(r!.payload.reason, /^webhook-alert is off: /);
      await sleep(200);
      assert.equal(hook.requests.length, 0, 'no request made');
    });
  }

  it('refuses bad input with a clear error and keeps working', async () => {
    const { reports } = await load();
    const errors = spy('wa', 'error');
    node('wa').receive({ payload: 42 });
    node('wa').receive({ payload: { kind: 'explosion', deviceId: CAMERA, text: 'boom' } });
    await until('two errors', () => errors.length === 2, 3000);
    assert.match(text(errors[0]!), /webhook-alert: msg\.payload must be an alert object or a string/);
    assert.match(text(errors[1]!), /webhook-alert: alert kind must be one of .* \(got "explosion"\)/);
    await sleep(100);
    assert.equal(hook.requests.length, 0);
    assert.equal(reports.msgs.length, 0, 'no report for input that is not an alert');

    node('wa').receive({ payload: motion('after-bad') });
    await until('the node still works', () => reportsWith(reports, 'sent')[0], 5000);
    assert.equal(hook.requests.length, 1);
    assert.equal(hook.requests[0]!.body.alert.eventId, 'after-bad');
  });

  it("takes an array of alerts (mqtt-processor's batch) as if each had come alone; a bad one fails the input, the others go", async () => {
    const { reports, file } = await load();
    const errors = spy('wa', 'error');
    node('wa').receive({ topic: 'alerts', payload: [motion('batch-1'), { kind: 'explosion', deviceId: CAMERA }, motion('batch-2')] });
    await until('two sent reports', () => reportsWith(reports, 'sent').length === 2 || undefined, 5000);
    assert.deepEqual(hook.requests.map((r) => r.body.alert.eventId).sort(), ['batch-1', 'batch-2']);
    assert.equal((await outbox(file)).length, 2);
    await until('the error', () => errors.length === 1 || undefined, 3000);
    assert.match(text(errors[0]!), /webhook-alert: alert 2 of 3: alert kind must be one of/);
  });

  it('applies noise control: holds back an alert in PRIVACY mode, and one within the cooldown', async () => {
    const { reports, file } = await load({ alert: { cooldownSeconds: 60 } });
    node('wa').receive({ payload: motion('m-1', { mode: 'PRIVACY' }) });
    node('wa').receive({ payload: motion('m-2') });
    node('wa').receive({ payload: motion('m-3') });
    await until('three reports', () => reports.msgs.length >= 3, 5000);
    const suppressed = reportsWith(reports, 'suppressed');
    assert.equal(suppressed.length, 2);
    assert.equal(suppressed[0]!.payload.eventId, 'm-1');
    assert.match(suppressed[0]!.payload.reason, /PRIVACY/);
    assert.equal(suppressed[1]!.payload.eventId, 'm-3');
    assert.match(suppressed[1]!.payload.reason, /cooldown/);
    assert.equal(suppressed[0]!.payload.channel, 'webhook');
    await sleep(200);
    assert.equal(hook.requests.length, 1, 'only the armed alert outside the cooldown is POSTed');
    assert.equal(hook.requests[0]!.body.alert.eventId, 'm-2');
    const states = (await outbox(file)).map((r) => r.state);
    assert.deepEqual(states, ['suppressed', 'sent', 'suppressed'], 'held-back alerts are kept for the log');
  });

  it('POSTs the same alert only once when it arrives twice', async () => {
    const { reports } = await load();
    node('wa').receive({ payload: motion('dup-1') });
    await until('sent report', () => reportsWith(reports, 'sent')[0], 5000);
    node('wa').receive({ payload: motion('dup-1') });
    const duplicate = await until('duplicate reported', () => reportsWith(reports, 'suppressed')[0], 5000);
    assert.match(duplicate.payload.reason, /duplicate/);
    await sleep(200);
    assert.equal(hook.requests.length, 1);
  });

  it('reports the URL host as target on reports decided at input (suppressed, duplicate)', async () => {
    const { reports } = await load();
    node('wa').receive({ payload: motion('t-1', { mode: 'PRIVACY' }) });
    const suppressed = await until('suppressed report', () => reportsWith(reports, 'suppressed')[0], 5000);
    assert.equal(suppressed.payload.target, hook.host);
  });

  it('fails a redirected POST instead of following it as a GET without the alert', async () => {
    hook.answerNext({ status: 302, headers: { location: '/elsewhere' } });
    const { reports } = await load();
    node('wa').receive({ payload: motion('redirect-1') });
    await until('a report', () => reports.msgs[0], 5000);
    await sleep(200);
    assert.deepEqual(
      hook.requests.map((r) => r.method),
      ['POST'],
      'the endpoint got no alert: it must not be followed as a GET',
    );
    assert.equal(reports.msgs[0]!.payload.status, 'failed');
    assert.match(reports.msgs[0]!.payload.reason, /answered HTTP 302/);
  });
});

/**
 * ntfy-alert in a real Node-RED runtime with a real SQLite outbox, against a local ntfy
 * stand-in that checks the request shapes of ntfy's publish API: JSON publish to the root,
 * or the picture PUT to the topic with the fields as headers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import ntfyNode from '../../../nodes/ntfy-alert/ntfy-alert';
import { CAMERA, motionAlert } from '../../support/fixtures';
import { jpeg, PushService } from '../../support/push-services';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, spy, until, useNodeRed } from '../../support/node-helper';
import { publishOverride } from '../../../nodes/lib/admin-settings';

useNodeRed();

const dir = tempDir();
let n = 0;
let ntfy: PushService;
beforeEach(async () => {
  ntfy = await PushService.start();
});
afterEach(() => ntfy.stop());

async function load(props: Record<string, unknown> = {}, token?: string) {
  const file = join(dir, `ntfy${n++}.db`);
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    {
      id: 'na',
      type: 'ntfy-alert',
      database: 'db',
      server: ntfy.base,
      topic: 'front-door',
      modes: 'ARMED',
      cooldownSeconds: 0,
      quietAction: 'silent',
      timeZone: 'UTC',
      timeoutSeconds: 2,
      publicUrl: 'https://cams.example.org',
      ...props,
      wires: [['reports']],
    },
    { id: 'reports', type: 'helper' },
  ];
  await helper.load([databaseNode, ntfyNode], flow, token ? { na: { token } } : {});
  return { file, reports: new Collector('reports') };
}

const reportsWith = (c: Collector, status: string) => c.msgs.filter((m) => m.payload.status === status);
const decode2047 = (v: string) => {
  const m = /^=\?UTF-8\?B\?(.*)\?=$/.exec(v);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : v;
};

describe('ntfy-alert node', () => {
  it('publishes an alert without a picture as JSON to the server root, with the token and a click URL', async () => {
    const { reports } = await load({}, 'tk_secret123');
    node('na').receive({ payload: motionAlert('evt-1') });
    const sent = await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    assert.equal(ntfy.requests.length, 1);
    const req = ntfy.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/');
    assert.equal(req.headers.authorization, 'Bearer tk_secret123');
    assert.match(req.headers['content-type'] ?? '', /^application\/json/);
    const body = JSON.parse(req.body.toString('utf8'));
    assert.equal(body.topic, 'front-door');
    assert.equal(body.title, '🏃 Motion at Front Door');
    assert.match(body.message, /^🏃 Motion at Front Door · Fri 27 Nov, 01:02:03/);
    assert.equal(body.priority, 4, 'a warning is high priority');
    assert.deepEqual(body.tags, ['picam', 'activity']);
    assert.equal(body.click, 'https://cams.example.org/dashboard/', 'no credential secret here: the dashboard, not a signed link');
    assert.equal(sent.payload.channel, 'ntfy');
  });

  it('PUTs an alert with a picture to the topic: the JPEG is the body, title, message and click are headers', async () => {
    const { reports } = await load();
    const picture = jpeg(9);
    node('na').receive({ payload: motionAlert('evt-pic', { image: picture }) });
    const sent = await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    const req = ntfy.requests[0]!;
    assert.equal(req.method, 'PUT');
    assert.equal(req.url, '/front-door');
    assert.deepEqual(req.body, picture, 'the attachment bytes are the JPEG');
    assert.equal(req.headers['content-type'], 'image/jpeg');
    assert.equal(req.headers.filename, 'evt-pic.jpg');
    assert.equal(decode2047(String(req.headers.title)), '🏃 Motion at Front Door', 'emoji travel RFC 2047 encoded');
    assert.match(decode2047(String(req.headers.message)), /Motion at Front Door/);
    assert.equal(req.headers.click, 'https://cams.example.org/dashboard/');
    assert.equal(req.headers.priority, '4');
    assert.equal(req.headers.authorization, undefined, 'no token configured: none sent');
    assert.equal(sent.payload.hasPhoto ?? true, true);
  });

  it('keeps an alert while ntfy fails (503, then down) and delivers it exactly once when it is back', async () => {
    ntfy.answerNext({ status: 503, body: '{"error":"busy"}' });
    const { reports, file } = await load();
    node('na').receive({ payload: motionAlert('evt-down') });
    const retrying = await until('retry', () => reportsWith(reports, 'retrying')[0], 5000);
    assert.match(retrying.payload.reason, /answered HTTP 503/);
    await ntfy.stop();
    await until('refused while down', () => reportsWith(reports, 'retrying').find((r) => /ECONNREFUSED/.test(r.payload.reason)), 10_000);
    const [waiting] = await rows<{ state: string }>(file, 'SELECT state FROM alerts_outbox');
    assert.equal(waiting!.state, 'pending', 'the alert waits in the outbox');
    await ntfy.listen();
    await until('sent once back', () => reportsWith(reports, 'sent')[0], 15_000);
    await sleep(300);
    assert.equal(ntfy.requests.filter((r) => r.method === 'POST').length, 2, 'the 503 and the one that worked');
    const [row] = await rows<{ state: string }>(file, 'SELECT state FROM alerts_outbox');
    assert.equal(row!.state, 'sent');
  });

  it('fails at once when ntfy refuses (403: a wrong token), with its answer in the reason', async () => {
    ntfy.answerNext({ status: 403, body: '{"code":40301,"error":"forbidden"}' });
    const { reports } = await load({}, 'tk_wrong');
    node('na').receive({ payload: motionAlert('evt-403') });
    const failed = await until('failed', () => reportsWith(reports, 'failed')[0], 5000);
    assert.match(failed.payload.reason, /answered HTTP 403: .*forbidden/);
    await sleep(200);
    assert.equal(ntfy.requests.length, 1, 'no retry');
  });

  for (const [label, props, why] of [
    ['no topic', { topic: '' }, /ntfy-alert is off: no topic/],
    ['a bad topic', { topic: 'front door/x' }, /ntfy-alert is off: topic "front door\/x" is not 1-64 letters/],
    ['a server that is no URL', { server: 'ntfy.sh' }, /ntfy-alert is off: not an http\(s\) server URL: ntfy\.sh/],
  ] as const) {
    it(`is off at deploy with ${label}, and says why on every input`, async () => {
      const { reports } = await load(props);
      node('na').receive({ payload: motionAlert('off') });
      const [r] = await reports.wait(1);
      assert.equal(r!.payload.status, 'suppressed');
      assert.match(r!.payload.reason, why);
      assert.equal(ntfy.requests.length, 0);
    });
  }

  it('takes a camera snapshot for a sent alert as a second message with the picture', async () => {
    const { reports } = await load();
    node('na').receive({ payload: motionAlert('evt-snap') });
    await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    node('na').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-snap', image: jpeg(3) } });
    await until('picture sent', () => ntfy.requests[1], 5000);
    assert.equal(ntfy.requests[1]!.method, 'PUT');
    assert.deepEqual(ntfy.requests[1]!.body, jpeg(3));
  });

  it('follows the admin page: off without a topic, sends once the page sets one, uses a changed token for the next alert', async () => {
    const scope = 'alerts.ntfy.connection';
    try {
      const { reports } = await load({ topic: '' });
      const statuses = spy('na', 'status');
      node('na').receive({ payload: motionAlert('evt-page-0') });
      const [off] = await reports.wait(1);
      assert.match(off!.payload.reason, /ntfy-alert is off: no topic/);

      // As the access-control node publishes it (this runtime has no credential secret: unsealed text opens as it is).
      publishOverride(scope, { topic: 'page-topic', token: { sealed: 'tk_from_page_1', hint: '…ge_1' } });
      node('na').receive({ payload: motionAlert('evt-page-1') });
      await until('sent to the page topic', () => ntfy.requests[0], 5000);
      assert.equal(JSON.parse(ntfy.requests[0]!.body.toString('utf8')).topic, 'page-topic');
      assert.equal(ntfy.requests[0]!.headers.authorization, 'Bearer tk_from_page_1');
      await until('status says where', () => statuses.find((s) => /page-topic \(admin page\)/.test(JSON.stringify(s.args))), 5000);
      assert.ok(
        statuses.every((s) => !JSON.stringify(s.args).includes('tk_from_page')),
        'no token on the status',
      );

      publishOverride(scope, { topic: 'page-topic', token: { sealed: 'tk_from_page_2', hint: '…ge_2' } });
      node('na').receive({ payload: motionAlert('evt-page-2') });
      await until('the second request', () => ntfy.requests[1], 5000);
      assert.equal(ntfy.requests[1]!.headers.authorization, 'Bearer tk_from_page_2', 'the changed token, without a redeploy');

      publishOverride(scope, {});
      node('na').receive({ payload: motionAlert('evt-page-3') });
      await until('off again', () => reportsWith(reports, 'suppressed').find((r) => r.payload.eventId === 'evt-page-3'), 5000);
      assert.equal(ntfy.requests.length, 2);
    } finally {
      publishOverride(scope, {});
    }
  });
});

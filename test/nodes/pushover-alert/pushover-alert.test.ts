/**
 * pushover-alert in a real Node-RED runtime with a real SQLite outbox, against a local
 * Pushover stand-in: each request is parsed as the multipart form Pushover's messages API
 * takes and its fields checked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import pushoverNode from '../../../nodes/pushover-alert/pushover-alert';
import { motionAlert } from '../../support/fixtures';
import { parseMultipart } from '../../support/multipart';
import { jpeg, PushService, type PushRequest } from '../../support/push-services';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const TOKEN = 'azGDORePK8gMaC0QOYAMyEEuzJnyUi';
const USER = 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG';
const dir = tempDir();
let n = 0;
let pushover: PushService;
beforeEach(async () => {
  pushover = await PushService.start();
});
afterEach(() => pushover.stop());

async function load(props: Record<string, unknown> = {}, credentials: Record<string, string> = { token: TOKEN, user: USER }) {
  const file = join(dir, `pushover${n++}.db`);
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    {
      id: 'pa',
      type: 'pushover-alert',
      database: 'db',
      apiUrl: pushover.base,
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
  await helper.load([databaseNode, pushoverNode], flow, { pa: credentials });
  return { file, reports: new Collector('reports') };
}

const reportsWith = (c: Collector, status: string) => c.msgs.filter((m) => m.payload.status === status);
const form = (req: PushRequest) => {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  assert.ok(boundary, `multipart: ${req.headers['content-type']}`);
  return parseMultipart(req.body, boundary[1] ?? boundary[2]!);
};

describe('pushover-alert node', () => {
  it('POSTs a multipart message with token, user, title, message, url and the picture as attachment', async () => {
    const { reports } = await load();
    const picture = jpeg(5);
    node('pa').receive({ payload: motionAlert('evt-1', { image: picture }) });
    const sent = await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    const req = pushover.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/1/messages.json');
    const { fields, files } = form(req);
    assert.equal(fields.token, TOKEN);
    assert.equal(fields.user, USER);
    assert.equal(fields.title, '🏃 Motion at Front Door');
    assert.match(String(fields.message), /^🏃 Motion at Front Door · Fri 27 Nov, 01:02:03/);
    assert.equal(fields.url, 'https://cams.example.org/dashboard/');
    assert.equal(fields.url_title, 'Open in dashboard');
    assert.equal(fields.priority, '0');
    assert.equal(fields.timestamp, String(Date.UTC(2026, 10, 27, 1, 2, 3) / 1000));
    assert.equal(files.attachment?.contentType, 'image/jpeg');
    assert.equal(files.attachment?.filename, 'evt-1.jpg');
    assert.deepEqual(files.attachment?.bytes, picture);
    assert.equal(sent.payload.channel, 'pushover');
  });

  it('sends a critical alert at high priority, without a picture part when there is none', async () => {
    const { reports } = await load();
    node('pa').receive({ payload: motionAlert('evt-crit', { severity: 'critical' }) });
    await until('sent', () => reportsWith(reports, 'sent')[0], 5000);
    const { fields, files } = form(pushover.requests[0]!);
    assert.equal(fields.priority, '1');
    assert.equal(files.attachment, undefined);
  });

  it('retries a 500 and a 429 from the outbox and delivers once; a 400 (bad user key) fails at once with the reason', async () => {
    pushover.answerNext({ status: 500 }, { status: 429, headers: { 'retry-after': '0' } });
    const { reports, file } = await load();
    node('pa').receive({ payload: motionAlert('evt-retry') });
    await until('sent', () => reportsWith(reports, 'sent')[0], 15_000);
    assert.equal(pushover.requests.length, 3);
    assert.equal(reportsWith(reports, 'retrying').length, 2);
    const [row] = await rows<{ state: string }>(file, 'SELECT state FROM alerts_outbox');
    assert.equal(row!.state, 'sent');

    pushover.answerNext({
      status: 400,
      body: '{"user":"invalid","errors":["user identifier is not a valid user, group, or subscribed user key"],"status":0}',
    });
    node('pa').receive({ payload: motionAlert('evt-400') });
    const failed = await until('failed', () => reportsWith(reports, 'failed')[0], 5000);
    assert.match(failed.payload.reason, /answered HTTP 400: .*user identifier is not a valid/);
    await sleep(200);
    assert.equal(pushover.requests.length, 4, 'no retry of a refusal');
  });

  for (const [label, creds, why] of [
    ['no API token', { user: USER }, /pushover-alert is off: no API token/],
    ['no user key', { token: TOKEN }, /pushover-alert is off: no user key/],
    ['a malformed token', { token: 'short', user: USER }, /pushover-alert is off: the API token is not 30 letters and digits/],
  ] as const) {
    it(`is off at deploy with ${label}, and says why on every input`, async () => {
      const { reports } = await load({}, creds as Record<string, string>);
      node('pa').receive({ payload: motionAlert('off') });
      const [r] = await reports.wait(1);
      assert.equal(r!.payload.status, 'suppressed');
      assert.match(r!.payload.reason, why);
      assert.equal(pushover.requests.length, 0);
    });
  }
});

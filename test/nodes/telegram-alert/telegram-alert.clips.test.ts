/**
 * Issue 19: an event's clip in the Telegram alert. telegram-alert in a real Node-RED runtime
 * with a real SQLite outbox and a real MP4 made by ffmpeg, against the Bot API fake: the
 * photo becomes the video (editMessageMedia), or the video answers the alert where the edit
 * is refused; the buttons under the alert work from configured chats only; the signed link
 * in the caption is the dashboard's.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import alertNode from '../../../nodes/telegram-alert/telegram-alert';
import botNode from '../../../nodes/telegram-bot/telegram-bot';
import { CLIP_FAILED_TOPIC, CLIP_READY_TOPIC, type ClipReadyPayload } from '../../../nodes/lib/contract/recordings';
import { verifyEventLink } from '../../../nodes/lib/event-links';
import { FakeTelegram, testPng } from '../../support/fake-telegram';
import { skipWithoutFfmpeg, testClip } from '../../support/ffmpeg';
import { CAMERA, motionAlert } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { Collector, helper, node, rows, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const SECRET = 'clips-test-credential-secret';
const DASHBOARD = 'https://cams.example.org';
const CHAT = 42;
const OTHER_CHAT = 99;
const dir = tempDir();
const MP4 = join(dir, 'clip.mp4');
let clipBytes: Buffer;
let n = 0;
let fake: FakeTelegram;
beforeEach(async () => {
  clipBytes ??= testClip(MP4, 2);
  fake = await FakeTelegram.start();
});
afterEach(() => fake.stop());

/** bot → alert node `ta` for CHAT (outputs reports / commands / snapshots); `other`: a second node for OTHER_CHAT without commands. */
async function load(o: { other?: boolean; file?: string } = {}) {
  helper.settings({ credentialSecret: SECRET });
  const file = o.file ?? join(dir, `clips${n++}.db`);
  const alertNodeDef = (id: string, chat: number, commands: boolean, wires: string[][]) => ({
    id,
    type: 'telegram-alert',
    bot: 'bot',
    database: 'db',
    chatIds: String(chat),
    modes: 'ARMED',
    cooldownSeconds: 0,
    timeZone: 'UTC',
    giveUpHours: 24,
    commands,
    dashboardUrl: DASHBOARD,
    linkDays: 7,
    wires,
  });
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    { id: 'bot', type: 'telegram-bot', apiRoot: fake.url, timeoutSeconds: 2, polling: true },
    alertNodeDef('ta', CHAT, true, [['reports'], ['commands'], ['snapshots']]),
    ...(o.other ? [alertNodeDef('ta2', OTHER_CHAT, false, [['reports'], [], []])] : []),
    { id: 'reports', type: 'helper' },
    { id: 'commands', type: 'helper' },
    { id: 'snapshots', type: 'helper' },
  ];
  await helper.load([databaseNode, botNode, alertNode], flow, { bot: { token: fake.token } });
  return { file, reports: new Collector('reports'), commands: new Collector('commands'), snapshots: new Collector('snapshots') };
}

const clip = (eventId: string, extra: Partial<ClipReadyPayload> = {}): ClipReadyPayload => ({
  cameraId: CAMERA,
  eventId,
  state: 'ready',
  startMs: Date.UTC(2026, 10, 27, 1, 1, 58),
  endMs: Date.UTC(2026, 10, 27, 1, 2, 20),
  durationMs: 2000,
  bytes: clipBytes.length,
  url: `/api/recordings/${CAMERA}/clips/${eventId}`,
  file: MP4,
  ...extra,
});

const photoAlert = (eventId: string) => motionAlert(eventId, { image: testPng(4, 4, 40) });
const buttonsOf = (m: { buttons?: Array<Array<{ text: string; url?: string; callback_data?: string }>> }) => (m.buttons ?? []).flat();

describe('telegram-alert: clips, links and buttons', { skip: skipWithoutFfmpeg }, () => {
  it('replaces the photo with the clip, keeping the caption, the signed link and the buttons', async () => {
    const { reports } = await load();
    node('ta').receive({ payload: photoAlert('clip-1') });
    const [photo] = await fake.waitForSent(1);
    assert.equal(photo!.method, 'sendPhoto');
    const labels = buttonsOf(photo!).map((b) => b.text);
    assert.deepEqual(labels, ['Disarm this camera', 'Snapshot now', 'Open in dashboard']);
    const open = buttonsOf(photo!).find((b) => b.url)!;
    assert.ok(open.url!.startsWith(`${DASHBOARD}/dashboard/event?`), open.url);
    const check = verifyEventLink(SECRET, new URL(open.url!).searchParams);
    assert.ok(check.ok, 'the link is signed with the runtime secret');
    assert.equal(check.eventId, 'clip-1');
    const days = (check.expiresMs - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in 7 days (${days})`);
    assert.match(photo!.caption!, /Open in dashboard/, 'the link is in the caption too');

    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-1') });
    const video = (await fake.waitForSent(2))[1]!;
    assert.equal(video.method, 'editMessageMedia');
    assert.equal(video.messageId, photo!.messageId, 'the same message now shows the video');
    assert.deepEqual(video.videoBytes, clipBytes, 'the MP4 the recorder made, uploaded');
    assert.match(video.caption!, /Motion at Front Door/);
    assert.match(video.caption!, /clip · 2 s/);
    assert.deepEqual(
      buttonsOf(video).map((b) => b.text),
      labels,
      'the edit keeps the buttons',
    );
    const report = await until('clip reported as an update', () => reports.msgs.find((m) => m.payload.kind === 'clip'));
    assert.equal(report.payload.status, 'updated');
  });

  it('answers the alert with the video where Telegram refuses the edit, and where the alert was text', async () => {
    await load();
    node('ta').receive({ payload: photoAlert('clip-2') });
    const [photo] = await fake.waitForSent(1);
    fake.failNext(1, { status: 400, description: 'Bad Request: message to edit not found' }, ['editMessageMedia']);
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-2') });
    const reply = (await fake.waitForSent(2))[1]!;
    assert.equal(reply.method, 'sendVideo');
    assert.equal(reply.replyTo, photo!.messageId);
    assert.deepEqual(reply.videoBytes, clipBytes);
    assert.equal(buttonsOf(reply).length, 3);

    node('ta').receive({ payload: motionAlert('clip-3') });
    const text = (await fake.waitForSent(3))[2]!;
    assert.equal(text.method, 'sendMessage');
    assert.equal(buttonsOf(text).length, 3, 'a text alert has the buttons too');
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-3') });
    const answer = (await fake.waitForSent(4))[3]!;
    assert.equal(answer.method, 'sendVideo', 'Telegram cannot turn a text message into a video');
    assert.equal(answer.replyTo, text.messageId);
  });

  it('sends the photo first and then the video when the clip comes before its alert', async () => {
    await load();
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-4') });
    node('ta').receive({ payload: photoAlert('clip-4') });
    const [first, second] = await fake.waitForSent(2, 10_000);
    assert.equal(first!.method, 'sendPhoto');
    assert.equal(second!.method, 'editMessageMedia');
    assert.equal(second!.messageId, first!.messageId);
  });

  it('keeps the clip through a Telegram outage and delivers it once Telegram is back', async () => {
    const { reports, file } = await load();
    node('ta').receive({ payload: photoAlert('clip-5') });
    await fake.waitForSent(1);
    await fake.stop();
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-5') });
    await until(
      'the clip is retried',
      () => reports.msgs.find((m) => m.payload.kind === 'clip' && m.payload.status === 'retrying'),
      10_000,
    );
    const [row] = await rows<{ state: string }>(file, "SELECT state FROM alerts_outbox WHERE item = 'clip'");
    assert.ok(row!.state === 'pending' || row!.state === 'sending', `the clip waits in the outbox (${row!.state})`);
    await fake.restart();
    const edited = (await fake.waitForSent(2, 20_000))[1]!;
    assert.equal(edited.method, 'editMessageMedia');
    assert.deepEqual(edited.videoBytes, clipBytes);
    assert.equal(fake.sent().length, 2, 'delivered once');
  });

  it('sends the photo, then the video, when both waited for Telegram to come back', async () => {
    const { reports } = await load();
    await fake.stop();
    node('ta').receive({ payload: photoAlert('clip-9') });
    await until(
      'the alert is retried',
      () => reports.msgs.find((m) => m.payload.eventId === 'clip-9' && m.payload.status === 'retrying'),
      10_000,
    );
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-9') });
    await fake.restart();
    const [photo, video] = await fake.waitForSent(2, 30_000);
    assert.equal(photo!.method, 'sendPhoto');
    assert.equal(video!.method, 'editMessageMedia');
    assert.equal(video!.messageId, photo!.messageId);
    assert.ok(!fake.calls.some((c) => c.method === 'sendVideo'), 'never the video before its photo');
  });

  it('keeps a clip waiting for Telegram across a runtime restart, and sends it once', async () => {
    const first = await load();
    node('ta').receive({ payload: photoAlert('clip-7') });
    await fake.waitForSent(1);
    await fake.stop();
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-7') });
    await until(
      'the clip is retried',
      () => first.reports.msgs.find((m) => m.payload.kind === 'clip' && m.payload.status === 'retrying'),
      10_000,
    );
    await helper.unload();
    await fake.restart();
    await load({ file: first.file });
    const edited = (await fake.waitForSent(2, 20_000))[1]!;
    assert.equal(edited.method, 'editMessageMedia');
    assert.deepEqual(edited.videoBytes, clipBytes);
    // Telegram has it; the outbox marks it sent once that answer is back.
    await waitFor('the clip marked sent', async () => {
      const [row] = await rows<{ state: string }>(first.file, "SELECT state FROM alerts_outbox WHERE item = 'clip'");
      return row?.state === 'sent' ? true : undefined;
    });
    assert.equal(fake.sent().filter((m) => m.videoBytes).length, 1, 'the video once');
  });

  it('sends no clip for an alert that noise control held back', async () => {
    const { reports } = await load();
    node('ta').receive({ payload: motionAlert('clip-8', { mode: 'PRIVACY', image: testPng(4, 4, 40) }) });
    await until('the alert held back', () => reports.msgs.find((m) => m.payload.eventId === 'clip-8' && m.payload.status === 'suppressed'));
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-8') });
    const r = await until('the clip held back too', () => reports.msgs.find((m) => m.payload.kind === 'clip'), 5000);
    assert.equal(r.payload.status, 'suppressed');
    assert.match(r.payload.reason, /its alert was suppressed/);
    assert.equal(fake.sent().length, 0);
  });

  it('only reports a failed clip, and refuses a clip message that is not one', async () => {
    const { reports } = await load();
    node('ta').receive({ payload: photoAlert('clip-6') });
    await fake.waitForSent(1);
    node('ta').receive({ topic: CLIP_FAILED_TOPIC, payload: clip('clip-6', { state: 'failed', file: null, reason: 'no segments' }) });
    const r = await until('failed clip reported', () => reports.msgs.find((m) => m.payload.kind === 'clip'));
    assert.equal(r.payload.status, 'suppressed');
    assert.match(r.payload.reason, /no segments/);

    const errors: string[] = [];
    node('ta').on('call:error', (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: clip('clip-6', { file: 'relative/path.mp4' }) });
    node('ta').receive({ topic: CLIP_READY_TOPIC, payload: { eventId: 'x' } });
    await until('both refused', () => errors.length === 2);
    assert.match(errors[0]!, /absolute path/);
    assert.match(errors[1]!, /cameraId/);
    assert.equal(fake.sent().length, 1, 'nothing more was sent');
  });

  it('disarms the camera and asks for a snapshot from a configured chat; refuses the same buttons elsewhere', async () => {
    const { commands, snapshots } = await load({ other: true });
    const botWarnings = spy('bot', 'warn');
    node('ta').receive({ payload: photoAlert('btn-1') });
    node('ta2').receive({ payload: photoAlert('btn-1') });
    await fake.waitForSent(2, 5000);
    const mine = fake.sent(CHAT)[0]!;
    const theirs = fake.sent(OTHER_CHAT)[0]!;
    const data = (m: typeof mine, label: string) => buttonsOf(m).find((b) => b.text === label)!.callback_data!;

    const disarm = fake.userPresses(CHAT, mine.messageId, data(mine, 'Disarm this camera'));
    const [cmd] = await commands.wait(1, 10_000);
    assert.deepEqual(cmd!.command, { action: 'setmode', deviceId: CAMERA, mode: 'LIVESTREAMONLY' });
    await fake.waitFor(() => fake.callbackAnswers.some((a) => a.queryId === disarm), 5000, 'the press answered');
    assert.match(fake.callbackAnswers.find((a) => a.queryId === disarm)!.text!, /Disarming Front Door/);

    const snap = fake.userPresses(CHAT, mine.messageId, data(mine, 'Snapshot now'));
    const [request] = await snapshots.wait(1, 10_000);
    assert.equal(request!.payload.deviceId, CAMERA);
    await fake.waitFor(() => fake.callbackAnswers.some((a) => a.queryId === snap), 5000, 'the snapshot press answered');

    const foreign = fake.userPresses(OTHER_CHAT, theirs.messageId, data(theirs, 'Disarm this camera'));
    await fake.waitFor(() => fake.callbackAnswers.some((a) => a.queryId === foreign), 5000, 'the foreign press answered');
    assert.match(fake.callbackAnswers.find((a) => a.queryId === foreign)!.text!, /Not allowed/);
    assert.equal(commands.msgs.length, 1, 'no command from a chat that is not configured');
    const logged = botWarnings.map(text).find((t) => t.includes('button press'));
    assert.match(
      logged ?? '',
      new RegExp(`ignored a button press from chat ${OTHER_CHAT} \\(user ${OTHER_CHAT}\\): not one of the configured chat ids`),
    );
    assert.ok(!logged!.includes('disarm:'), "the button's data stays out of the log");
  });
});

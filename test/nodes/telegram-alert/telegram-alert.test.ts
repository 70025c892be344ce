/**
 * telegram-alert in a real Node-RED runtime with a real SQLite outbox, against
 * the local fake of the Bot API (test/support/fake-telegram.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { EventStore } from '../../../nodes/lib/store/store';
import alertNode from '../../../nodes/telegram-alert/telegram-alert';
import botNode from '../../../nodes/telegram-bot/telegram-bot';
import { FakeTelegram, testPng } from '../../support/fake-telegram';
import { CAMERA, motionAlert } from '../../support/fixtures';
import { conn } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();
let n = 0;
let fake: FakeTelegram;
beforeEach(async () => {
  fake = await FakeTelegram.start();
});
afterEach(() => fake.stop());

const CHAT = 42;
const GROUP = -100;

interface Options {
  file?: string;
  chatIds?: string;
  token?: string;
  alert?: Record<string, unknown>;
  snapshotWire?: boolean;
  /** a second alert node `ta2` on the same bot and chats */
  twin?: boolean;
}

/** bot → alert node `ta` with outputs reports/commands/snapshots, on a fresh (or given) database file. */
async function load(o: Options = {}) {
  const file = o.file ?? join(dir, `alerts${n++}.db`);
  const flow = [
    { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 0 },
    { id: 'bot', type: 'telegram-bot', apiRoot: fake.url, timeoutSeconds: 2, polling: true },
    {
      id: 'ta',
      type: 'telegram-alert',
      bot: 'bot',
      database: 'db',
      chatIds: o.chatIds ?? String(CHAT),
      modes: 'ARMED',
      cooldownSeconds: 0,
      quietAction: 'silent',
      timeZone: 'UTC',
      giveUpHours: 24,
      commands: true,
      ...o.alert,
      wires: [['reports'], ['commands'], o.snapshotWire ? ['snapshots'] : []],
    },
    ...(o.twin
      ? [
          {
            id: 'ta2',
            type: 'telegram-alert',
            bot: 'bot',
            database: 'db',
            chatIds: o.chatIds ?? String(CHAT),
            cooldownSeconds: 0,
            timeZone: 'UTC',
            commands: false,
            wires: [['reports'], [], []],
          },
        ]
      : []),
    { id: 'reports', type: 'helper' },
    { id: 'commands', type: 'helper' },
    { id: 'snapshots', type: 'helper' },
  ];
  await helper.load([databaseNode, botNode, alertNode], flow, { bot: { token: o.token ?? fake.token } });
  return { file, reports: new Collector('reports'), commands: new Collector('commands'), snapshots: new Collector('snapshots') };
}

const motion = motionAlert;

const reportsWith = (c: Collector, status: string) => c.msgs.filter((m) => m.payload.status === status);

describe('telegram-alert node', () => {
  it('sends an alert at once as formatted HTML, reports it and records the message id on the event', async () => {
    const { reports, file } = await load();
    node('ta').receive({ payload: motion('evt-1') });
    const [sent] = await fake.waitForSent(1);
    assert.equal(sent!.chatId, CHAT);
    assert.equal(sent!.method, 'sendMessage');
    assert.match(sent!.text!, /<b>Motion at Front Door<\/b>/);
    assert.match(sent!.plain!, /Fri 27 Nov, 01:02:03/, 'local time (UTC here) with the date');
    const report = await until('sent report', () => reportsWith(reports, 'sent')[0]);
    assert.equal(report.payload.messageId, sent!.messageId);
    assert.equal(report.payload.eventId, 'evt-1');
    const [event] = await rows<{ telegram_msg_id: number; telegram_notified: number }>(
      file,
      "SELECT telegram_msg_id, telegram_notified FROM activity_events WHERE event_id = 'evt-1'",
    );
    assert.deepEqual(event, { telegram_msg_id: sent!.messageId, telegram_notified: 1 });
  });

  it('adds a late snapshot as a reply to the text message, and replaces the photo of a photo message', async () => {
    const { reports } = await load();
    node('ta').receive({ payload: motion('evt-2') });
    const [textMsg] = await fake.waitForSent(1);
    node('ta').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-2', image: testPng(2, 2, 10) } });
    const [, photo] = await fake.waitForSent(2);
    assert.equal(photo!.method, 'sendPhoto');
    assert.equal(photo!.replyTo, textMsg!.messageId, 'the photo answers the alert it belongs to');
    assert.deepEqual(photo!.photoBytes, testPng(2, 2, 10));

    node('ta').receive({ payload: motion('evt-3', { image: testPng(3, 3, 20) }) });
    const [, , withPhoto] = await fake.waitForSent(3);
    assert.equal(withPhoto!.method, 'sendPhoto', 'an alert that has its picture is one photo message');
    assert.match(withPhoto!.caption!, /Motion at Front Door/);
    node('ta').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-3', image: testPng(4, 4, 30) } });
    const edited = (await fake.waitForSent(4))[3]!;
    assert.equal(edited.method, 'editMessageMedia');
    assert.equal(edited.messageId, withPhoto!.messageId);
    assert.match(edited.caption!, /Motion at Front Door/, 'the caption survives the edit');
    await until('two updates reported', () => reportsWith(reports, 'updated').length === 2);
  });

  it('keeps alerts through a Telegram outage and a runtime restart, then delivers each exactly once', async () => {
    await fake.stop();
    const first = await load();
    for (let i = 0; i < 3; i++) node('ta').receive({ payload: motion(`outage-${i}`, { deviceName: `Camera ${i}` }) });
    // Each alert is tried and fails. A backed-off retry may already be under way ('sending') when we
    // look, so what counts is that none was given up or marked sent.
    const retried = () => new Set(reportsWith(first.reports, 'retrying').map((r) => r.payload.outboxId)).size;
    await until('a retry reported for each', () => retried() === 3, 10_000);
    const open = await rows<{ state: string }>(first.file, 'SELECT state FROM alerts_outbox');
    assert.deepEqual(
      open.map((r) => r.state).filter((s) => s !== 'pending' && s !== 'sending'),
      [],
      'all three wait in the outbox',
    );
    assert.equal(open.length, 3);
    await helper.unload();

    await fake.restart();
    const second = await load({ file: first.file });
    await until('all delivered', () => reportsWith(second.reports, 'sent').length === 3, 10_000);
    await sleep(300);
    const texts = fake.sent(CHAT).map((m) => m.plain ?? '');
    for (let i = 0; i < 3; i++) {
      assert.equal(texts.filter((t) => t.includes(`Camera ${i}`)).length, 1, `Camera ${i} exactly once`);
    }
  });

  it("retries a 429 after Telegram's retry_after and a 5xx with backoff, without doubling", async () => {
    fake.failNext(1, { status: 429, retryAfter: 1 }, ['sendMessage']);
    fake.failNext(1, { status: 500 }, ['sendMessage']);
    const { reports } = await load();
    const t0 = Date.now();
    node('ta').receive({ payload: motion('evt-429') });
    await until('sent', () => reportsWith(reports, 'sent')[0], 10_000);
    assert.ok(Date.now() - t0 >= 1000, 'waited out retry_after');
    const retries = reportsWith(reports, 'retrying').map((m) => m.payload.reason as string);
    assert.equal(retries.length, 2);
    assert.match(retries[0]!, /Telegram 429/);
    assert.equal(fake.sent(CHAT).length, 1);
  });

  it('stays within the limits when 100 cameras trigger together, and tells every camera', async () => {
    const { reports } = await load({ chatIds: `${CHAT}, ${GROUP}` });
    for (let i = 0; i < 100; i++) {
      node('ta').receive({ payload: motion(`burst-${i}`, { deviceId: `cam-${i}`, deviceName: `Cam ${String(i).padStart(3, '0')}` }) });
    }
    await until('200 deliveries', () => reportsWith(reports, 'sent').length === 200, 20_000);
    assert.deepEqual(fake.violations, [], 'no chat, group or global limit broken');
    for (const chat of [CHAT, GROUP]) {
      const all = fake
        .sent(chat)
        .map((m) => m.plain ?? '')
        .join('\n');
      for (let i = 0; i < 100; i++) assert.ok(all.includes(`Cam ${String(i).padStart(3, '0')}`), `chat ${chat} heard of camera ${i}`);
      assert.ok(fake.sent(chat).length <= 5, `a digest, not 100 messages (${fake.sent(chat).length})`);
    }
  });

  it('keeps to 30 messages a second overall when one alert goes to 40 chats', async () => {
    const chats = Array.from({ length: 40 }, (_, i) => String(1000 + i));
    const { reports } = await load({ chatIds: chats.join(',') });
    node('ta').receive({ payload: motion('wide-1') });
    await until('40 deliveries', () => reportsWith(reports, 'sent').length === 40, 10_000);
    assert.deepEqual(fake.violations, []);
    const times = fake.sent().map((m) => m.atMs);
    assert.ok(Math.max(...times) - Math.min(...times) >= 900, 'the last ten waited for the next second');
  });

  it('keeps two alert nodes of one bot together within the chat limit', async () => {
    const { reports } = await load({ twin: true });
    for (let i = 0; i < 4; i++) {
      node('ta').receive({ payload: motion(`one-${i}`, { deviceId: `a${i}`, deviceName: `A${i}` }) });
      node('ta2').receive({ payload: motion(`two-${i}`, { deviceId: `b${i}`, deviceName: `B${i}` }) });
    }
    await until('8 deliveries', () => reportsWith(reports, 'sent').length === 8, 10_000);
    assert.deepEqual(fake.violations, []);
  });

  it('retries a request Telegram never answers, after the time-out, and sends it once', async () => {
    fake.failNext(1, { hang: true }, ['sendMessage']);
    const { reports } = await load();
    node('ta').receive({ payload: motion('hang-1') });
    const retry = await until('a retry', () => reportsWith(reports, 'retrying')[0], 10_000);
    assert.match(retry.payload.reason, /timed out|aborted/i);
    await until('sent', () => reportsWith(reports, 'sent')[0], 15_000);
    assert.equal(fake.sent(CHAT).length, 1);
  });

  it('holds back alerts in other modes and within the cooldown, and says why', async () => {
    const { reports } = await load({ alert: { cooldownSeconds: 60 } });
    node('ta').receive({ payload: motion('m-1', { mode: 'PRIVACY' }) });
    node('ta').receive({ payload: motion('m-2') });
    node('ta').receive({ payload: motion('m-3') });
    await until('three reports', () => reports.msgs.length >= 3, 5000);
    const suppressed = reportsWith(reports, 'suppressed').map((m) => m.payload.reason as string);
    assert.equal(suppressed.length, 2);
    assert.match(suppressed[0]!, /PRIVACY/);
    assert.match(suppressed[1]!, /cooldown/);
    await sleep(200);
    assert.equal(fake.sent(CHAT).length, 1);
  });

  it('answers commands from its chats only: /status, /arm, /snapshot', async () => {
    const file = join(dir, `alerts${n++}.db`);
    const seed = await EventStore.open({ file });
    await seed.writeAsync(conn(Date.now(), 'connected', 'Front Door'));
    await seed.close();
    const { commands, snapshots } = await load({ file, snapshotWire: true });
    const warnings = spy('bot', 'warn');

    fake.userSays(999, '/status');
    await until('stranger logged', () => warnings.some((w) => /chat 999/.test(text(w))), 5000);
    assert.equal(fake.sent(999).length, 0, 'a stranger gets no answer');

    fake.userSays(CHAT, '/help@some_other_bot'); // in a group: meant for another bot
    fake.userSays(CHAT, `/status@${fake.bot.username}`);
    await fake.waitFor((f) => f.sent(CHAT).length >= 1);
    await sleep(100);
    assert.equal(fake.sent(CHAT).length, 1, 'only the command for this bot is answered');
    assert.match(fake.sent(CHAT)[0]!.plain!, /Front Door: online/);

    fake.userSays(CHAT, '/arm front door');
    const command = await commands.first(5000);
    assert.deepEqual(command.command, { action: 'setmode', deviceId: CAMERA, mode: 'ARMED' });

    fake.userSays(CHAT, '/snapshot Front Door');
    const request = await snapshots.first(5000);
    assert.equal(request.payload.deviceId, CAMERA);
    node('ta').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, requestId: request.payload.requestId, image: testPng(5, 5) } });
    await fake.waitFor((f) => f.sent(CHAT).some((m) => m.method === 'sendPhoto'));
    assert.equal(fake.conflicts, 0);

    // A camera node (ipcam, rpicam-rtsp) reads its target on the message, and answers with its
    // own picture message (the JPEG as payload): the cloud flow wires them to each other directly.
    fake.userSays(CHAT, '/snapshot Front Door');
    const second = (await snapshots.wait(2, 5000))[1]!;
    assert.equal(second.deviceId, CAMERA);
    node('ta').receive({ topic: 'snapshot', payload: testPng(6, 6), deviceId: CAMERA, requestId: second.payload.requestId });
    await fake.waitFor((f) => f.sent(CHAT).filter((m) => m.method === 'sendPhoto').length === 2, 5000, 'the camera node\'s picture sent');
  });

  it('shows on its status when another client polls the same bot token', async () => {
    await load();
    const statuses = spy('ta', 'status');
    await fake.waitFor((f) => f.calls.some((c) => c.method === 'getUpdates'), 5000, 'the node polling');
    // Another program (or a second runtime) starts polling the same token: Telegram answers the first poller 409.
    const other = fetch(`${fake.url}/bot${fake.token}/getUpdates?timeout=1`).then((r) => r.json());
    await until('conflict on the status', () => statuses.some((s) => /commands: conflict/.test(JSON.stringify(s.args))), 5000);
    await other;
  });

  it('is off, and says so on every alert, without a token', async () => {
    const { reports } = await load({ token: '' });
    const statuses = spy('ta', 'status');
    node('ta').receive({ payload: motion('off-1') });
    const report = await reports.first();
    assert.equal(report.payload.status, 'suppressed');
    assert.match(report.payload.reason, /no bot token/);
    await sleep(100);
    assert.equal(fake.calls.length, 0);
    assert.ok(statuses.length === 0 || statuses.every((s) => /off/.test(JSON.stringify(s.args))));
  });

  it('says what is wrong with its settings, and reports every alert as failed instead of dropping it', async () => {
    const { reports } = await load({ alert: { quietStart: '25:00', quietEnd: '07:00' } });
    const errors = spy('ta', 'error');
    node('ta').receive({ payload: motion('cfg-1') });
    const report = await reports.first(5000);
    assert.equal(report.payload.status, 'failed');
    assert.match(report.payload.reason, /25:00/);
    await until('the error', () => errors.length === 1);
    assert.match(text(errors[0]!), /25:00/);
  });

  it('refuses bad input with a clear error and keeps running', async () => {
    const { reports } = await load();
    const errors = spy('ta', 'error');
    node('ta').receive({ payload: { kind: 'explosion', deviceId: 'x', text: 'boom' } });
    node('ta').receive({ payload: 42 });
    node('ta').receive({ payload: { kind: 'snapshot', deviceId: CAMERA, eventId: 'e', image: '/nonexistent/pic.jpg' } });
    await until('three errors', () => errors.length === 3, 3000);
    assert.match(text(errors[0]!), /alert kind must be one of/);
    assert.match(text(errors[1]!), /must be an alert object or a string/);
    assert.match(text(errors[2]!), /cannot read \/nonexistent\/pic.jpg: ENOENT/);
    node('ta').receive({ payload: 'the garage door is open' });
    await until('the node still works', () => reportsWith(reports, 'sent')[0], 5000);
    assert.match(fake.sent(CHAT)[0]!.plain!, /the garage door is open/);
  });
});

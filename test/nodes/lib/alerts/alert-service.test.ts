/**
 * The outbox and the dispatcher against a real SQLite file and a real PostgreSQL (issue 21), and
 * a scripted channel: what is committed before sending, retries, give-ups, digests, snapshots in
 * every order, and delivery across a restart. What the ingest and the query API add (the
 * activity start's upsert, the alerts query) is checked on SQLite.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { AlertService } from '../../../../nodes/lib/alerts/alert-service';
import type { Channel, DeliveryResult, Failure } from '../../../../nodes/lib/alerts/dispatcher';
import { AlertPolicy } from '../../../../nodes/lib/alerts/policy';
import type { Alert, DeliveryReport } from '../../../../nodes/lib/types';
import type { OutboxRow } from '../../../../nodes/lib/store/outbox';
import { EventStore } from '../../../../nodes/lib/store/store';
import { CAMERA } from '../../../support/fixtures';
import { rows as fileRows, start } from '../../../support/records';
import { eachDialect, openSqlite, type OpenStore, type TestStore } from '../../../support/stores';
import { waitFor } from '../../../support/wait';

class Transient extends Error {
  constructor(readonly retryAfterMs?: number) {
    super(retryAfterMs ? `429: retry after ${retryAfterMs} ms` : 'connection reset');
  }
}
class Refused extends Error {}

/** Records what it is asked to send; fails as scripted. */
class ScriptedChannel implements Channel {
  readonly name = 'scripted';
  readonly limits: Channel['limits'];
  readonly maxDigest: number;
  readonly recordsEvents = true;
  readonly calls: Array<{ ids: number[]; items: string[]; target: string; alertMessageId?: number; image?: string }> = [];
  failures: Error[] = [];
  private nextId = 100;

  constructor(perTargetMs = 40, maxDigest = 10) {
    this.limits = { perTargetMs, groupPerMinute: 0, globalPerSecond: 0 };
    this.maxDigest = maxDigest;
  }
  canDigest(row: OutboxRow) {
    return !row.image;
  }
  async deliver(batch: OutboxRow[], alert?: OutboxRow): Promise<DeliveryResult> {
    const failure = this.failures.shift();
    this.calls.push({
      ids: batch.map((r) => r.id),
      items: batch.map((r) => r.item),
      target: batch[0]!.target,
      alertMessageId: alert?.messageId,
      image: batch[0]!.image?.toString(),
    });
    if (failure) throw failure;
    return { messageId: this.nextId++, hasPhoto: !!batch[0]!.image, delivered: batch.length };
  }
  classify(err: unknown): Failure {
    if (err instanceof Transient) return { retry: true, retryAfterMs: err.retryAfterMs, reason: err.message };
    return { retry: false, reason: (err as Error).message };
  }
}

const services: AlertService[] = [];
const stores: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const s of stores.splice(0)) await s.close();
});

/** Rows of the store at `location` (a file or a PostgreSQL URL), read through `store`. */
const rowsOf = <T>(store: TestStore, sql: string) => store.exclusive((db) => db.all<T>(sql));

async function setup(
  open: OpenStore,
  opts: { location?: string; channel?: ScriptedChannel; targets?: string[]; giveUpAfterMs?: number; start?: boolean } = {},
) {
  const store = await open(opts.location);
  stores.push(store);
  const channel = opts.channel ?? new ScriptedChannel();
  const reports: DeliveryReport[] = [];
  const service = new AlertService({
    outbox: store.outbox('scripted', 'node-1'),
    channel,
    policy: new AlertPolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'silent' }),
    targets: opts.targets ?? ['42'],
    giveUpAfterMs: opts.giveUpAfterMs ?? 0,
    backoff: { baseMs: 20, maxMs: 100 },
    report: (r) => reports.push(r),
    onError: (err) => assert.fail(err),
  });
  services.push(service);
  if (opts.start !== false) service.start();
  const rows = <T>(sql: string) => rowsOf<T>(store, sql);
  return { location: store.location, store, channel, reports, service, rows };
}

const motion = (eventId: string, deviceName = 'Front Door'): Alert => ({
  kind: 'activity',
  deviceId: CAMERA,
  deviceName,
  timeMs: Date.now(),
  severity: 'warning',
  text: `motion detected on ${deviceName}`,
  eventId,
  activityType: 'MOTION',
  mode: 'ARMED',
});

const byStatus = (reports: DeliveryReport[], status: DeliveryReport['status']) => reports.filter((r) => r.status === status);

eachDialect('alert outbox and dispatcher', (open) => {
  it('commits a row per chat before sending, then marks each sent and records the message id on the event', async () => {
    const { rows, reports, channel, service } = await setup(open, { targets: ['42', '-100'], start: false });
    const accepted = await service.accept(motion('evt-1'));
    assert.equal(accepted.queued, 2);
    const before = await rows<{ state: string; target: string }>('SELECT state, target FROM alerts_outbox ORDER BY id');
    assert.deepEqual(before, [
      { state: 'pending', target: '42' },
      { state: 'pending', target: '-100' },
    ]);
    assert.equal(channel.calls.length, 0, 'nothing is sent before the dispatcher runs');

    service.start();
    await waitFor('both sent', async () => (byStatus(reports, 'sent').length === 2 ? true : undefined), 3000);
    const after = await rows<{ state: string; message_id: number }>('SELECT state, message_id FROM alerts_outbox ORDER BY id');
    assert.deepEqual(
      after.map((r) => r.state),
      ['sent', 'sent'],
    );
    // The alert beat its activity-start row to the database: the message id waits in a row of its own.
    const [event] = await rows<{ telegram_msg_id: number; telegram_notified: number }>(
      "SELECT telegram_msg_id, telegram_notified FROM activity_events WHERE event_id = 'evt-1'",
    );
    assert.deepEqual(event, { telegram_msg_id: after[0]!.message_id, telegram_notified: 1 });
  });

  it("retries a transient failure after the channel's retry_after, then sends once", async () => {
    const channel = new ScriptedChannel();
    channel.failures = [new Transient(150)];
    const { reports, rows, service } = await setup(open, { channel });
    const t0 = Date.now();
    await service.accept(motion('evt-2'));
    await waitFor('sent', async () => (byStatus(reports, 'sent').length ? true : undefined), 3000);
    assert.ok(Date.now() - t0 >= 150, 'waited for retry_after');
    assert.equal(byStatus(reports, 'retrying').length, 1);
    assert.match(byStatus(reports, 'retrying')[0]!.reason!, /429/);
    assert.equal(channel.calls.length, 2);
    const [row] = await rows<{ attempts: number; state: string }>('SELECT attempts, state FROM alerts_outbox');
    assert.deepEqual(row, { attempts: 2, state: 'sent' });
  });

  it('fails at once on a refusal, and gives up on transient failures after the configured time', async () => {
    const channel = new ScriptedChannel();
    channel.failures = [new Refused('chat not found')];
    const a = await setup(open, { channel });
    await a.service.accept(motion('evt-3'));
    await waitFor('failed', async () => (byStatus(a.reports, 'failed').length ? true : undefined), 3000);
    assert.equal(byStatus(a.reports, 'failed')[0]!.reason, 'chat not found');
    assert.equal(channel.calls.length, 1, 'no retry after a refusal');
    // What the node's status shows: a failure and why, not "retrying" for a row no retry will send.
    assert.equal(a.service.dispatcher.stats.lastFailure, undefined);
    assert.equal(a.service.dispatcher.stats.lastGiveUp, 'chat not found');

    const flaky = new ScriptedChannel();
    flaky.failures = Array.from({ length: 100 }, () => new Transient());
    const b = await setup(open, { channel: flaky, giveUpAfterMs: 200 });
    await b.service.accept(motion('evt-4'));
    await waitFor('given up', async () => (byStatus(b.reports, 'failed').length ? true : undefined), 5000);
    assert.match(byStatus(b.reports, 'failed')[0]!.reason!, /^gave up after \d+ attempts: connection reset/);
    const [row] = await b.rows<{ state: string }>('SELECT state FROM alerts_outbox');
    assert.equal(row!.state, 'failed');
  });

  it("keeps a chat's alerts in order when an older one waits for a later retry than a newer one (after a restart too)", async () => {
    const store = await open();
    stores.push(store);
    const out = store.outbox('scripted', 'node-1');
    const row = (target: string, eventId: string) => ({
      target,
      item: 'alert' as const,
      dedupeKey: `alert:${target}:${eventId}`,
      payload: motion(eventId),
      deviceId: CAMERA,
      eventId,
    });
    await out.add([row('42', 'older'), row('42', 'newer'), row('43', 'other chat')]);
    const now = Date.now() + 1000;
    const [older, newer] = await out.due(now);
    // The older one failed more often: its retry is later than the newer one's.
    await out.retry(older!, 'connection reset', now + 60_000);
    await out.retry(newer!, 'connection reset', now + 1000);
    const ids = async (at: number) => (await out.due(at)).map((r) => r.eventId);
    assert.deepEqual(await ids(now + 2000), ['other chat'], "the newer one waits for the older; another chat's does not");
    assert.deepEqual(await ids(now + 61_000), ['older', 'newer', 'other chat']);
  });

  it('delivers what was accepted before a restart, exactly once, and remembers event ids across it', async () => {
    const first = await setup(open, { start: false });
    await first.service.accept(motion('evt-5'));
    await first.service.accept(motion('evt-6'));
    await first.service.close();
    await first.store.close();

    const second = await setup(open, { location: first.location });
    await waitFor('both sent', async () => (byStatus(second.reports, 'sent').length === 2 ? true : undefined), 3000);
    const again = await second.service.accept(motion('evt-5'));
    assert.equal(again.queued, 0);
    assert.equal(again.reports[0]!.status, 'suppressed');
    assert.match(again.reports[0]!.reason!, /duplicate/);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(
      second.channel.calls.flatMap((c) => c.ids),
      [1, 2],
      'each row sent once',
    );
  });

  it('sends a backlog for one chat as a digest after the first alert', async () => {
    const { channel, reports, service } = await setup(open, { start: false });
    for (let i = 0; i < 6; i++) await service.accept(motion(`burst-${i}`, `Camera ${i}`));
    service.start();
    await waitFor('all sent', async () => (byStatus(reports, 'sent').length === 6 ? true : undefined), 3000);
    assert.deepEqual(
      channel.calls.map((c) => c.ids.length),
      [6],
      'the whole backlog goes in one message',
    );
    const live = await setup(open, { channel: new ScriptedChannel(500) });
    await live.service.accept(motion('live-1'));
    await waitFor('first sent', async () => (live.channel.calls.length ? true : undefined), 3000);
    for (let i = 2; i <= 5; i++) await live.service.accept(motion(`live-${i}`));
    await waitFor('all sent', async () => (byStatus(live.reports, 'sent').length === 5 ? true : undefined), 3000);
    assert.deepEqual(
      live.channel.calls.map((c) => c.ids.length),
      [1, 4],
      'the first goes alone at once, the rest wait out the chat limit together',
    );
    assert.ok(
      byStatus(live.reports, 'sent')
        .slice(1)
        .every((r) => r.digestOf === 4),
    );
  });

  it('puts a snapshot into an alert not sent yet, or sends it as an update of a sent one', async () => {
    const { channel, reports, service, rows } = await setup(open, { start: false });
    await service.accept(motion('evt-7'));
    const merged = await service.accept({ kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-7', image: Buffer.from('jpeg-7') });
    assert.equal(merged.reports[0]!.status, 'updated');
    service.start();
    await waitFor('sent', async () => (byStatus(reports, 'sent').length ? true : undefined), 3000);
    assert.equal(channel.calls[0]!.image, 'jpeg-7', 'one photo message');

    await service.accept({ kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-7', image: Buffer.from('jpeg-7b') });
    await waitFor('updated', async () => (byStatus(reports, 'updated').length === 1 ? true : undefined), 3000);
    const update = channel.calls[1]!;
    assert.deepEqual(update.items, ['snapshot']);
    assert.equal(update.alertMessageId, 100, 'the update names the sent message');
    const [alertRow] = await rows<{ has_photo: number }>("SELECT has_photo FROM alerts_outbox WHERE item = 'alert'");
    assert.equal(alertRow!.has_photo, 1);
  });

  it('holds a snapshot that comes before its alert, and drops it with a reason when no alert comes', async () => {
    const { channel, reports, service, store } = await setup(open);
    await service.accept({ kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-8', image: Buffer.from('early') });
    await service.accept(motion('evt-8'));
    await waitFor('sent', async () => (byStatus(reports, 'sent').length ? true : undefined), 3000);
    assert.equal(channel.calls[0]!.image, 'early');

    const quick = new AlertService({
      outbox: store.outbox('scripted', 'node-2', 100),
      channel,
      policy: new AlertPolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'silent' }),
      targets: ['42'],
      giveUpAfterMs: 0,
      report: (r) => reports.push(r),
      onError: (err) => assert.fail(err),
    });
    services.push(quick);
    quick.start();
    await quick.accept({ kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-orphan', image: Buffer.from('x') });
    const dropped = await waitFor(
      'orphan dropped',
      async () => reports.find((r) => r.eventId === 'evt-orphan' && r.status === 'suppressed'),
      3000,
    );
    assert.equal(dropped.reason, 'no alert was sent for event evt-orphan');
  });

  it("does not let one chat's long backlog hide another chat's alert", async () => {
    const { store, channel, service } = await setup(open, { targets: ['A', 'B'], start: false });
    const outbox = store.outbox('scripted', 'node-1');
    const backlog = Array.from({ length: 300 }, (_, i) => ({
      target: 'A',
      item: 'alert' as const,
      dedupeKey: `backlog-${i}`,
      payload: motion(`backlog-${i}`),
      deviceId: CAMERA,
    }));
    await outbox.add(backlog);
    await service.accept(motion('late'), undefined, ['B']);
    service.start();
    await waitFor('B served', async () => (channel.calls.some((c) => c.target === 'B') ? true : undefined), 3000);
    assert.ok(channel.calls.findIndex((c) => c.target === 'B') <= 1, 'B goes out in the first round, beside the first of A');
  });

  it('keeps suppressed alerts in the outbox with their reason, for the delivery log', async () => {
    const { reports, service, store } = await setup(open);
    await service.accept({ ...motion('evt-9'), mode: 'PRIVACY' });
    assert.equal(reports.length, 0, 'the service returns the report; it is not sent');
    const log = await store.outbox('scripted', 'node-1').log();
    assert.equal(log[0]!.state, 'suppressed');
    assert.match(log[0]!.last_error!, /PRIVACY/);
  });
});

describe('alert outbox with the ingest and the query API (sqlite)', () => {
  let eventStore: EventStore | undefined;
  const open: OpenStore = async (at) => {
    const s = await openSqlite(typeof at === 'string' ? at : undefined);
    eventStore = s;
    return s;
  };

  it("an activity start stored after its alert keeps the alert's Telegram columns", async () => {
    const { reports, service, location } = await setup(open);
    await service.accept(motion('evt-1'));
    await waitFor('sent', async () => (byStatus(reports, 'sent').length ? true : undefined), 3000);
    await eventStore!.writeAsync(start('evt-1', Date.now()));
    const [event] = await fileRows<{ telegram_msg_id: number; telegram_notified: number; activity_type: string }>(
      location,
      "SELECT telegram_msg_id, telegram_notified, activity_type FROM activity_events WHERE event_id = 'evt-1'",
    );
    assert.deepEqual(event, { telegram_msg_id: 100, telegram_notified: 1, activity_type: 'MOTION' });
  });

  it('answers the delivery log query', async () => {
    const { reports, service } = await setup(open);
    const events = eventStore!;
    await service.accept({ ...motion('evt-9'), mode: 'PRIVACY' });
    await service.accept(motion('evt-10'));
    await waitFor('sent', async () => (byStatus(reports, 'sent').length ? true : undefined), 3000);
    const held = await events.query('alerts', { state: 'suppressed' });
    assert.equal(held.total, 1);
    assert.deepEqual(
      { kind: held.alerts[0]!.kind, device_name: held.alerts[0]!.device_name, event_id: held.alerts[0]!.event_id },
      { kind: 'activity', device_name: 'Front Door', event_id: 'evt-9' },
    );
    assert.match(held.alerts[0]!.reason ?? '', /PRIVACY/);
    const all = (await events.query('alerts', { camera: CAMERA })) as { alerts: Array<{ event_id: string; state: string }> };
    assert.deepEqual(
      all.alerts.map((a) => [a.event_id, a.state]),
      [
        ['evt-10', 'sent'],
        ['evt-9', 'suppressed'],
      ],
      'newest first',
    );
    await assert.rejects(events.query('alerts', { state: 'lost' }), /"state" must be one of/);
  });
});

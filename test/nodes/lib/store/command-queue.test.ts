/**
 * The command queue on a real SQLite file and a real PostgreSQL (issue 21): rows per sender, in
 * order, a newer mode change replacing a queued older one, expiry with a reason; and on SQLite
 * the API's view of it (`commands` query: by id, 404, filters).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { NewCommand } from '../../../../nodes/lib/store/command-queue';
import { EventStore } from '../../../../nodes/lib/store/store';
import { CAMERA } from '../../../support/fixtures';
import { eachDialect, type TestStore } from '../../../support/stores';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fresh = () => EventStore.open({ file: join(dir, `q${n++}.db`) });
const T = Date.UTC(2026, 11, 6, 10, 0, 0);

const cmd = (id: string, action: string, extra: Partial<NewCommand> = {}): NewCommand => ({
  commandId: id,
  deviceId: CAMERA,
  action,
  topic: `prod/honeycomb/${CAMERA}/system/${action}`,
  payload: JSON.stringify({ requestId: id }),
  createdMs: T,
  expiresMs: T + 600_000,
  ...extra,
});

/** A command's state and reason as stored. */
const stored = (s: TestStore, id: string) =>
  s.exclusive((db) =>
    db.get<{ state: string; reason: string | null; sentMs: number | null; attempts: number }>(
      'SELECT state, reason, sent_ms AS "sentMs", attempts FROM command_queue WHERE command_id = ?',
      [id],
    ),
  );

eachDialect('command queue', (open) => {
  it('keeps the order commands were accepted in, and each sender sees only its own rows', async () => {
    const store = await open();
    const a = store.commandQueue('sender-a');
    await a.enqueue(cmd('req_1', 'reboot'));
    await a.enqueue(cmd('req_2', 'settings-update'));
    await store.commandQueue('sender-b').enqueue(cmd('req_3', 'reboot'));
    assert.deepEqual(
      (await a.queued()).map((r) => r.commandId),
      ['req_1', 'req_2'],
    );
    assert.deepEqual(await a.counts(), { queued: 2, sent: 0, expired: 0, failed: 0 });
    await assert.rejects(a.enqueue(cmd('req_1', 'reboot')), 'a command id is stored once');
    await store.close();
  });

  it('expires a queued older mode change when a newer one is queued, naming the newer one', async () => {
    const store = await open();
    const q = store.commandQueue('s');
    await q.enqueue(cmd('req_old', 'setmode'));
    await q.enqueue(cmd('req_new', 'setmode'));
    assert.deepEqual(
      (await q.queued()).map((r) => r.commandId),
      ['req_new'],
    );
    const old = await stored(store, 'req_old');
    assert.equal(old?.state, 'expired');
    assert.equal(old?.reason, 'superseded by req_new before delivery');
    await store.close();
  });

  it('expires rows past their time-to-live with the reason given, but not the one being published', async () => {
    const store = await open();
    const q = store.commandQueue('s');
    await q.enqueue(cmd('req_a', 'reboot', { expiresMs: T + 1000 }));
    await q.enqueue(cmd('req_b', 'reboot', { expiresMs: T + 1000 }));
    const [first] = await q.queued();
    const expired = await q.expire(T + 1000, () => 'expired before delivery: broker unreachable', first!.seq);
    assert.deepEqual(
      expired.map((r) => [r.commandId, r.state, r.reason]),
      [['req_b', 'expired', 'expired before delivery: broker unreachable']],
    );
    assert.equal(await q.nextExpiry(), T + 1000, 'req_a is still queued');
    await q.markSent(first!.seq, T + 1200);
    const a = await stored(store, 'req_a');
    assert.deepEqual([a?.state, a?.sentMs, a?.attempts], ['sent', T + 1200, 1]);
    assert.equal(await q.nextExpiry(), undefined);
    await store.close();
  });
});

describe('command queue through the API (sqlite)', () => {
  it('answers the API: a command by id with its payload, 404 for an unknown id, filters by device and state, 400 for bad ones', async () => {
    const store = await fresh();
    const q = store.commandQueue('s');
    await q.enqueue(cmd('req_1', 'reboot'));
    await q.enqueue(cmd('req_2', 'reboot', { deviceId: 'other-camera' }));
    const one = (await store.query('commands', { id: 'req_1' })) as { command: { payload: unknown; state: string; deviceId: string } };
    assert.deepEqual(one.command.payload, { requestId: 'req_1' });
    assert.equal(one.command.state, 'queued');
    await assert.rejects(store.query('commands', { id: 'req_nope' }), { statusCode: 404, message: 'unknown command "req_nope"' });
    await assert.rejects(store.query('commands', { id: '../etc' }), { statusCode: 400 });
    const mine = (await store.query('commands', { device: CAMERA })) as { commands: Array<{ id: string }>; total: number };
    assert.deepEqual([mine.commands.map((c) => c.id), mine.total], [['req_1'], 1]);
    const sent = (await store.query('commands', { state: 'sent' })) as { total: number };
    assert.equal(sent.total, 0);
    await assert.rejects(store.query('commands', { state: 'lost' }), {
      statusCode: 400,
      message: /"state" must be one of queued, sent, expired, failed/,
    });
    await store.close();
  });
});

/**
 * A device's connection state when several runtimes share the store (issue 21, item 3), on both
 * engines: the stored status is the latest by the device's own time, whatever order the
 * messages are stored in, and the leader's sweep (connection-sweep.ts) announces each change once:
 * an offline alert after the debounce, a "back online" after an offline alert, and a device
 * marked offline when nothing came from it for too long (its Last Will lost with its broker node).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SweptDevice } from '../../../../nodes/lib/store/connection-sweep';
import type { EventStore } from '../../../../nodes/lib/store/store';
import type { ConnectionRecord, StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA } from '../../../support/fixtures';
import { conn } from '../../../support/records';
import { eachDialect, type TestStore } from '../../../support/stores';

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const DEBOUNCE_MS = 30_000;
const SILENT_MS = 1_800_000;

const writeMany = (store: EventStore, records: StoreRecord[]) =>
  new Promise<void>((resolve, reject) => store.writeMany(records, (err) => (err ? reject(err) : resolve())));

const heartbeat = (timeMs: number): StoreRecord => ({
  kind: 'heartbeat',
  deviceId: CAMERA,
  deviceType: 'hive-cam',
  timeMs,
  status: 'online',
  online: true,
  raw: '{}',
});

interface Registry {
  connection_status: string | null;
  connection_alert: string | null;
  connection_ms: number | null;
}

async function registry(store: TestStore): Promise<Registry> {
  const row = await store.reads.get<Registry>(
    'SELECT connection_status, connection_alert, connection_ms FROM camera_registry WHERE camera_id = ?',
    [CAMERA],
  );
  assert.ok(row, 'the camera is registered');
  return row;
}

/** A sweep as the leader runs it, `afterMs` from now by the runtime's clock. */
const sweep = (store: EventStore, afterMs: number, silentMs = SILENT_MS) =>
  store.sweepConnections({ nowMs: Date.now() + afterMs, debounceMs: DEBOUNCE_MS, silentMs });

const told = (swept: SweptDevice[]) => swept.map((s) => `${s.deviceId} ${s.announce ?? 'nothing'} (${s.reason})`);

eachDialect('connection state: last writer wins by the device time', (open) => {
  it('keeps the newest status when an older connection message is stored after it', async () => {
    const store = await open();
    try {
      await writeMany(store, [conn(T0 + 2000, 'connected')]);
      // A disconnection sent before that connection, stored late (redelivered, or by the other runtime).
      await writeMany(store, [conn(T0 + 1000, 'disconnected')]);
      assert.deepEqual(await registry(store), { connection_status: 'connected', connection_alert: null, connection_ms: T0 + 2000 });

      await writeMany(store, [conn(T0 + 3000, 'disconnected')]);
      assert.equal((await registry(store)).connection_status, 'disconnected');
      // The connection delivered again, and an older heartbeat saying online: both older than the disconnection.
      await writeMany(store, [conn(T0 + 2000, 'connected'), heartbeat(T0 + 2500)]);
      assert.deepEqual(await registry(store), { connection_status: 'disconnected', connection_alert: null, connection_ms: T0 + 3000 });

      // A newer heartbeat says it is up again.
      await writeMany(store, [heartbeat(T0 + 4000)]);
      assert.deepEqual(await registry(store), { connection_status: 'connected', connection_alert: null, connection_ms: T0 + 4000 });
    } finally {
      await store.close();
    }
  });

  it('takes a Last Will (no timestamp) as ending what came before it, not as of when it arrived', async () => {
    const store = await open();
    // The device's clock runs 20 s behind the runtime's: its times are all earlier than ours.
    const behind = Date.now() - 20_000;
    const will: ConnectionRecord = {
      ...(conn(Date.now(), 'disconnected') as ConnectionRecord),
      raw: '{"status":"disconnected"}',
      untimed: true,
    };
    try {
      await writeMany(store, [conn(behind, 'connected'), heartbeat(behind + 5000)]);
      await writeMany(store, [will]);
      const ended = await registry(store);
      assert.equal(ended.connection_status, 'disconnected');
      assert.ok(
        ended.connection_ms! > behind + 5000 && ended.connection_ms! < Date.now(),
        'just after the last thing it sent, by its clock',
      );
      // A heartbeat it sent before it went, stored late (the other queue), and the connection again: older.
      await writeMany(store, [heartbeat(behind + 5000), conn(behind, 'connected')]);
      assert.equal((await registry(store)).connection_status, 'disconnected');
      // It reconnects (the broker delivered the Will of its old session just before): newer by its own clock.
      await writeMany(store, [conn(behind + 8000, 'connected')]);
      assert.deepEqual(await registry(store), { connection_status: 'connected', connection_alert: null, connection_ms: behind + 8000 });
      // Both in one batch, in the order the broker delivered them.
      await writeMany(store, [{ ...will, timeMs: Date.now() }, conn(behind + 9000, 'connected')]);
      assert.equal((await registry(store)).connection_status, 'connected');
      await writeMany(store, [heartbeat(behind + 9500), { ...will, timeMs: Date.now() }, heartbeat(behind + 9500)]);
      assert.equal((await registry(store)).connection_status, 'disconnected', 'a heartbeat sent before the Will does not undo it');
    } finally {
      await store.close();
    }
  });

  it('keeps the newest of one batch, whatever order the batch holds them in', async () => {
    const store = await open();
    try {
      await writeMany(store, [conn(T0 + 5000, 'disconnected'), conn(T0 + 4000, 'connected'), heartbeat(T0 + 4500)]);
      assert.deepEqual(await registry(store), { connection_status: 'disconnected', connection_alert: null, connection_ms: T0 + 5000 });
      const history = await store.reads.all<{ n: number }>(
        "SELECT count(*) AS n FROM status_events WHERE camera_id = ? AND event_type = 'connection'",
        [CAMERA],
      );
      assert.equal(Number(history[0]!.n), 2, 'both messages stay in the history');
    } finally {
      await store.close();
    }
  });
});

eachDialect('connection state: the sweep', (open) => {
  it('announces a disconnection once, after the debounce, and the return once', async () => {
    const store = await open();
    try {
      await writeMany(store, [conn(T0, 'connected')]);
      assert.deepEqual(told(await sweep(store, 0)), [`${CAMERA} online (connected)`], 'a new camera is announced online');
      assert.deepEqual(await sweep(store, 0), [], 'once');

      await writeMany(store, [conn(T0 + 1000, 'disconnected')]);
      assert.deepEqual(await sweep(store, DEBOUNCE_MS - 5000), [], 'not within the debounce');
      const offline = await sweep(store, DEBOUNCE_MS + 1000);
      assert.deepEqual(told(offline), [`${CAMERA} offline (disconnected)`]);
      assert.equal(offline[0]!.atMs, T0 + 1000, 'the alert says when it went, by its own clock');
      assert.equal(offline[0]!.name, 'Front Door');
      assert.deepEqual(await sweep(store, DEBOUNCE_MS + 5000), [], 'once');
      assert.equal((await registry(store)).connection_alert, 'offline', 'what the user was told is stored');

      await writeMany(store, [conn(T0 + 60_000, 'connected')]);
      assert.deepEqual(told(await sweep(store, 0)), [`${CAMERA} online (connected)`], 'back online');
      assert.deepEqual(await sweep(store, 0), []);
    } finally {
      await store.close();
    }
  });

  it('announces nothing for a reconnection inside the debounce', async () => {
    const store = await open();
    try {
      await writeMany(store, [conn(T0, 'connected')]);
      await sweep(store, 0);
      await writeMany(store, [conn(T0 + 1000, 'disconnected')]);
      await writeMany(store, [conn(T0 + 2000, 'connected')]);
      assert.deepEqual(await sweep(store, DEBOUNCE_MS * 10), []);
      assert.deepEqual(await registry(store), { connection_status: 'connected', connection_alert: 'online', connection_ms: T0 + 2000 });
    } finally {
      await store.close();
    }
  });

  it('marks a connected device offline when nothing came from it for too long, and its next message wins', async () => {
    const store = await open();
    try {
      await writeMany(store, [conn(T0, 'connected'), heartbeat(T0 + 600_000)]);
      await sweep(store, 0);
      assert.deepEqual(await sweep(store, SILENT_MS - 60_000), [], 'not yet');
      assert.deepEqual(await sweep(store, SILENT_MS + 60_000, 0), [], 'never with the check off');

      const silent = await sweep(store, SILENT_MS + 60_000);
      assert.deepEqual(told(silent), [`${CAMERA} offline (silent)`]);
      const marked = await registry(store);
      assert.equal(marked.connection_status, 'disconnected');
      assert.equal(marked.connection_alert, 'offline');
      assert.ok(marked.connection_ms! >= T0 + 600_000, 'stored as of after the last thing heard from it');
      assert.equal(silent[0]!.atMs, marked.connection_ms);
      assert.deepEqual(await sweep(store, SILENT_MS + 120_000), [], 'once');

      // The heartbeat delivered again does not bring it back; its reconnection does.
      await writeMany(store, [heartbeat(T0 + 600_000)]);
      assert.equal((await registry(store)).connection_status, 'disconnected');
      await writeMany(store, [conn(T0 + 700_000, 'connected')]);
      assert.deepEqual(told(await sweep(store, 0)), [`${CAMERA} online (connected)`]);
    } finally {
      await store.close();
    }
  });
});

eachDialect('connection state: two runtimes sweeping at once', (open, dialect) => {
  it('announces each change once between them', { skip: dialect === 'sqlite' ? 'one runtime per SQLite file' : false }, async () => {
    const a = await open();
    const b = await open(a.location);
    try {
      const devices = Array.from({ length: 20 }, (_, i) => `CAM${String(i).padStart(2, '0')}`);
      await writeMany(
        a,
        devices.map((id, i) => ({ ...conn(T0 + i, 'connected'), deviceId: id })),
      );
      const first = await Promise.all([sweep(a, 0), sweep(b, 0), sweep(a, 0), sweep(b, 0)]);
      assert.deepEqual(
        first
          .flat()
          .map((s) => s.deviceId)
          .sort(),
        devices,
        'each online once',
      );
      await writeMany(
        b,
        devices.map((id, i) => ({ ...conn(T0 + 1000 + i, 'disconnected'), deviceId: id })),
      );
      const second = await Promise.all([sweep(a, DEBOUNCE_MS + 1000), sweep(b, DEBOUNCE_MS + 1000), sweep(b, DEBOUNCE_MS + 1000)]);
      assert.deepEqual(
        second
          .flat()
          .map((s) => `${s.deviceId} ${s.announce}`)
          .sort(),
        devices.map((id) => `${id} offline`),
      );
    } finally {
      await b.close();
      await a.close();
    }
  });
});

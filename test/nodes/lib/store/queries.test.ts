/**
 * EventStore.query() answers typed rows (nodes/lib/store/queries.ts, rows typed in nodes/lib/contract/api-rows.ts): the
 * columns each query really returns are exactly the fields its type names, so a
 * caller reads `events[0].camera_name` without a cast and without a guess.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CameraRow, DeadLetterRow, EventRow, StreamPoint, StreamRow } from '../../../../nodes/lib/store/queries';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { conn, start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();

/** Every field of T, listed once: the compiler checks the list is complete and has nothing extra. */
const fields = <T>(all: Record<keyof T, true>): string[] => Object.keys(all).sort();

const EVENT = fields<EventRow>({
  event_id: true,
  camera_id: true,
  camera_name: true,
  activity_type: true,
  start_timestamp: true,
  end_timestamp: true,
  duration_seconds: true,
  confidence: true,
  thumbnail_path: true,
  recording_path: true,
  has_thumbnail: true,
  has_recording: true,
  clip: true,
  zones: true,
  detection: true,
  upload_status: true,
  telegram_notified: true,
  created_at: true,
});
const CAMERA = fields<CameraRow>({
  camera_id: true,
  device_type: true,
  camera_name: true,
  ip_address: true,
  firmware_version: true,
  status: true,
  desired_mode: true,
  connection_status: true,
  battery_level: true,
  signal_strength: true,
  last_seen: true,
  created_at: true,
  updated_at: true,
  last_event_id: true,
  last_event_type: true,
  last_event_time: true,
  zones: true,
});
const DEAD = fields<DeadLetterRow>({
  id: true,
  received_ms: true,
  source: true,
  reason: true,
  device_id: true,
  payload: true,
  payload_bytes: true,
});
const STREAM = fields<StreamRow>({
  path: true,
  time_ms: true,
  online: true,
  readers: true,
  inbound_kbps: true,
  outbound_kbps: true,
  frames_in_error: true,
  source_type: true,
});
const POINT = fields<StreamPoint>({
  time_ms: true,
  online: true,
  readers: true,
  inbound_kbps: true,
  outbound_kbps: true,
  frames_in_error: true,
});

describe('EventStore.query(): typed rows', () => {
  it('answers each kind with exactly the columns its row type names', async () => {
    const store = await EventStore.open({ file: join(dir, 'typed.db') });
    try {
      const now = Date.now();
      const health = {
        kind: 'stream-health',
        deviceId: 'picam-1',
        deviceType: 'mediamtx',
        timeMs: now,
        online: true,
        readers: 1,
      } as StoreRecord;
      for (const r of [conn(now), start('evt_typed', now), health]) await store.writeAsync(r);
      await store.writeAsync({ kind: 'dead-letter', timeMs: now, source: 'mqtt', reason: 'invalid JSON', payload: '{', payloadBytes: 1 });

      const { events, total } = await store.query('events', { limit: 5 });
      assert.equal(total, 1);
      assert.equal(events[0]!.event_id, 'evt_typed');
      assert.deepEqual(Object.keys(events[0]!).sort(), EVENT);
      assert.equal(events[0]!.clip, null, 'no clip recorded');
      // The recorder's clip (issue 19) shows on the event row as its URL.
      await store.recordings().openClip({ cameraId: events[0]!.camera_id, eventId: 'evt_typed', startMs: now - 5000, endMs: now + 10_000 });
      const withClip = (await store.query('events', { limit: 5 })).events[0]!;
      assert.equal(withClip.clip, `/api/recordings/${events[0]!.camera_id}/clips/evt_typed`);

      const { cameras } = await store.query('cameras');
      assert.deepEqual(Object.keys(cameras[0]!).sort(), CAMERA);

      const { deadLetters } = await store.query('dead-letters');
      assert.equal(deadLetters[0]!.reason, 'invalid JSON');
      assert.deepEqual(Object.keys(deadLetters[0]!).sort(), DEAD);

      const latest = await store.query('streams');
      assert.ok('streams' in latest);
      assert.deepEqual(Object.keys(latest.streams[0]!).sort(), STREAM);
      const history = await store.query('streams', { path: 'picam-1' });
      assert.ok('history' in history);
      assert.deepEqual(Object.keys(history.history[0]!).sort(), POINT);
    } finally {
      await store.close();
    }
  });
});

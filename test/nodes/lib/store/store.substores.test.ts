/**
 * The store's smaller sub-stores on both engines (issue 21): the same calls give the same
 * answers on SQLite and on a real PostgreSQL: names as the code spells them (PostgreSQL folds
 * unquoted aliases to lower case), numbers as numbers, new rows' ids, duplicates refused the
 * same way, and the triggers' totals (upload usage, recording bytes) kept alike.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { appendAudit, listAudit } from '../../../../nodes/lib/store/audit';
import type { UploadFileRow } from '../../../../nodes/lib/store/uploads';
import { AmbiguousEvent } from '../../../../nodes/lib/store/uploads';
import { eachDialect } from '../../../support/stores';

const T = Date.UTC(2026, 11, 6, 10, 0, 0);

eachDialect('access: users, tokens and sessions', (open) => {
  it('adds a user once, changes and removes it; tokens get ids and are revoked once; sessions list and end', async () => {
    const s = await open();
    try {
      const access = s.access();
      const alice = { name: 'alice', passwordHash: '$2b$10$hash', role: 'operator' as const, cameras: ['cam-1'], createdMs: T };
      assert.equal(await access.addUser(alice), true);
      assert.equal(await access.addUser({ ...alice, role: 'admin' }), false, 'the name is taken');
      assert.equal(await access.changeUser('alice', { role: 'viewer', cameras: null }), true);
      assert.equal(await access.changeUser('nobody', { role: 'viewer' }), false);
      assert.deepEqual(await access.users(), [{ ...alice, role: 'viewer', cameras: null }]);

      const first = await access.addToken({
        name: 'ci',
        sha256: 'a'.repeat(64),
        role: 'viewer',
        cameras: null,
        createdBy: 'alice',
        createdMs: T,
      });
      const second = await access.addToken({
        name: 'ha',
        sha256: 'b'.repeat(64),
        role: 'admin',
        cameras: ['x'],
        createdBy: null,
        createdMs: T,
      });
      assert.ok(first.id > 0 && second.id > first.id, 'each token gets its own, growing id');
      assert.deepEqual(await access.tokens(), [first, second]);
      assert.equal(await access.revokeToken(first.id), true);
      assert.equal(await access.revokeToken(first.id), false, 'revoked once');
      assert.deepEqual(await access.tokens(), [second]);

      const now = Date.now();
      await access.recordSession({ id: 's1', username: 'alice', client: '10.0.0.1', issuedMs: now, expiresMs: now + 60_000 });
      await access.recordSession({ id: 's2', username: 'alice', client: '10.0.0.2', issuedMs: now + 1, expiresMs: now + 60_000 });
      assert.deepEqual(
        (await access.sessions('alice')).map((r) => [r.id, r.client, r.issuedMs]),
        [
          ['s2', '10.0.0.2', now + 1],
          ['s1', '10.0.0.1', now],
        ],
      );
      assert.deepEqual(await access.endSession('alice', 's1'), { id: 's1', client: '10.0.0.1', issuedMs: now, expiresMs: now + 60_000 });
      assert.equal(await access.endSession('alice', 's1'), undefined, 'ended once');
      assert.equal(await access.removeUser('alice'), true);
      assert.deepEqual(await access.sessions('alice'), []);
    } finally {
      await s.close();
    }
  });
});

eachDialect('audit log and settings overrides', (open) => {
  it('lists audit entries newest first, a page before an id, and keeps one override per scope', async () => {
    const s = await open();
    try {
      for (let i = 1; i <= 3; i++)
        await appendAudit(s.auditLog, { atMs: T + i, actor: 'alice', role: 'admin', action: `change ${i}`, target: 'cam', detail: '{}' });
      const all = await listAudit(s.auditLog);
      assert.deepEqual(
        all.map((e) => [e.action, e.atMs, e.role]),
        [
          ['change 3', T + 3, 'admin'],
          ['change 2', T + 2, 'admin'],
          ['change 1', T + 1, 'admin'],
        ],
      );
      assert.deepEqual(
        (await listAudit(s.auditLog, { before: all[0]!.id, limit: 1 })).map((e) => e.action),
        ['change 2'],
      );

      const o = s.settingsOverrides();
      await o.set('retention', { activityDays: 30 }, 'alice', T);
      await o.set('retention', { activityDays: 7 }, 'bob', T + 1);
      await o.set('alerts.telegram', { quietHours: '22-07' }, 'alice', T + 2);
      assert.deepEqual(await o.get('retention'), { activityDays: 7 });
      assert.deepEqual(await o.all(), [
        { scope: 'alerts.telegram', value: { quietHours: '22-07' }, updatedMs: T + 2, updatedBy: 'alice' },
        { scope: 'retention', value: { activityDays: 7 }, updatedMs: T + 1, updatedBy: 'bob' },
      ]);
      await o.set('retention', {}, 'alice');
      assert.equal(await o.get('retention'), undefined, 'an empty object brings the defaults back');
    } finally {
      await s.close();
    }
  });
});

eachDialect('IP cameras', (open) => {
  it('puts, replaces and removes a camera, with its registry row', async () => {
    const s = await open();
    try {
      const cams = s.ipCameras();
      const porch = {
        ...{ id: 'porch', name: 'Porch', mainUrl: '', subUrl: 'rtsp://192.168.1.50/sub', transport: 'tcp' as const },
        ...{ username: 'u', password: 'sealed', mode: 'ARMED' as const, motion: true, onvif: '', motionSource: 'analyser' as const },
      };
      assert.equal(await cams.put(porch, T), true, 'new');
      assert.equal(await cams.put({ ...porch, name: 'Front porch', motion: false }, T + 5), false, 'replaced');
      assert.deepEqual(await cams.get('porch'), { ...porch, name: 'Front porch', motion: false, createdMs: T, updatedMs: T + 5 });
      assert.equal(await cams.setMode('porch', 'PRIVACY', T + 6), true);
      assert.equal((await cams.list())[0]!.mode, 'PRIVACY');
      await s.exclusive((db) =>
        db.run(`INSERT INTO camera_registry (camera_id, camera_name) VALUES ('porch', 'Porch'), ('other', 'Other')`),
      );
      assert.equal(await cams.remove('porch'), true);
      assert.equal(await cams.remove('porch'), false);
      const left = await s.exclusive((db) => db.all<{ camera_id: string }>('SELECT camera_id FROM camera_registry ORDER BY camera_id'));
      assert.deepEqual(left, [{ camera_id: 'other' }]);
    } finally {
      await s.close();
    }
  });
});

eachDialect('uploads', (open) => {
  const file = (eventId: string, cameraId: string, fileType: UploadFileRow['fileType'], size: number, at: number): UploadFileRow => ({
    eventId,
    cameraId,
    fileType,
    filePath: `/up/${cameraId}/${eventId}/${fileType}-${size}`,
    fileName: `${fileType}.bin`,
    fileSize: size,
    uploadDir: `/up/${cameraId}/${eventId}`,
    uploadedAt: at,
  });

  it('registers cameras once, stores files with their ids, links and creates the event, refuses an ambiguous event, keeps totals', async () => {
    const s = await open();
    try {
      const up = s.uploads();
      await up.registerCamera('cam-a', 'admin', T);
      await up.registerCamera('cam-a', 'enrolment', T + 1);
      await up.certificateIssued('cam-a', T + 2);
      assert.deepEqual(await up.cameras(), [
        { cameraId: 'cam-a', registeredMs: T, registeredBy: 'admin', certIssuedMs: T + 2, certRequests: 1 },
      ]);

      const ids = await up.recordUpload([file('ev1', 'cam-a', 'thumbnail', 100, 1000), file('ev1', 'cam-a', 'recording', 5000, 1001)], {
        activityType: 'PERSON',
        nowS: 1000,
      });
      assert.equal(ids.length, 2);
      assert.ok(ids[1]! > ids[0]!);
      const event = await s.exclusive((db) =>
        db.get<Record<string, unknown>>(
          `SELECT activity_type, thumbnail_path, recording_path, recording_size, upload_status FROM activity_events WHERE camera_id = 'cam-a' AND event_id = 'ev1'`,
        ),
      );
      assert.deepEqual(event, {
        activity_type: 'PERSON',
        thumbnail_path: '/up/cam-a/ev1/thumbnail-100',
        recording_path: '/up/cam-a/ev1/recording-5000',
        recording_size: 5000,
        upload_status: 'uploaded',
      });
      assert.equal((await up.latest('ev1', 'thumbnail'))?.id, ids[0]);
      await up.recordUpload([file('ev1', 'cam-b', 'thumbnail', 200, 900)]);
      await assert.rejects(up.latest('ev1', 'thumbnail'), AmbiguousEvent);
      assert.equal((await up.latest('ev1', 'thumbnail', 'cam-b'))?.fileSize, 200);
      assert.deepEqual((await up.camerasOf('ev1')).sort(), ['cam-a', 'cam-b']);

      assert.deepEqual(await up.usage(), {
        files: 3,
        bytes: 5300,
        byType: { thumbnail: { files: 2, bytes: 300 }, recording: { files: 1, bytes: 5000 } },
        oldest: 900,
      });
      const old = await up.olderThan(1001);
      assert.deepEqual(
        old.map((u) => u.uploadedAt),
        [900, 1000],
      );
      assert.equal(await up.forget(old), 2);
      const after = await s.exclusive((db) =>
        db.get<Record<string, unknown>>(`SELECT thumbnail_path FROM activity_events WHERE camera_id = 'cam-a' AND event_id = 'ev1'`),
      );
      assert.deepEqual(after, { thumbnail_path: null });
      assert.deepEqual(await up.usage(), { files: 1, bytes: 5000, byType: { recording: { files: 1, bytes: 5000 } }, oldest: 1001 });
      assert.equal(await up.unregisterCamera('cam-a'), true);
    } finally {
      await s.close();
    }
  });
  it('finds the rows of many folders in one query and forgets a whole folder: links cleared, recording expired, other cameras untouched', async () => {
    const s = await open();
    try {
      const up = s.uploads();
      const folders = Array.from({ length: 40 }, (_, i) => `ev${i}`);
      for (const ev of folders) {
        await up.recordUpload([file(ev, 'cam-a', 'thumbnail', 10, 900), file(ev, 'cam-a', 'recording', 20, 2000)], {
          activityType: 'MOTION',
          nowS: 900,
        });
      }
      // Another camera used the same event id: its event and files are its own.
      await up.recordUpload([file('ev0', 'cam-b', 'thumbnail', 30, 900)], { activityType: 'MOTION', nowS: 900 });

      const dirs = folders.map((ev) => `/up/cam-a/${ev}`);
      const rows = await up.inFolders(dirs);
      assert.equal(rows.length, 80, 'both files of every folder');
      assert.deepEqual(await up.inFolders([]), []);
      assert.equal(await up.forget(rows), 80);

      const events = await s.exclusive((db) =>
        db.all<{ camera_id: string; thumbnail_path: string | null; recording_path: string | null; upload_status: string }>(
          `SELECT camera_id, thumbnail_path, recording_path, upload_status FROM activity_events WHERE event_id = 'ev0' ORDER BY camera_id`,
        ),
      );
      assert.deepEqual(events, [
        { camera_id: 'cam-a', thumbnail_path: null, recording_path: null, upload_status: 'expired' },
        { camera_id: 'cam-b', thumbnail_path: '/up/cam-b/ev0/thumbnail-30', recording_path: null, upload_status: 'uploaded' },
      ]);
      assert.deepEqual(
        (await up.inFolders(['/up/cam-a/ev0', '/up/cam-b/ev0'])).map((u) => u.cameraId),
        ['cam-b'],
      );
      assert.deepEqual(await up.usage(), { files: 1, bytes: 30, byType: { thumbnail: { files: 1, bytes: 30 } }, oldest: 900 });
    } finally {
      await s.close();
    }
  });
});

eachDialect('recordings index', (open) => {
  it('stores a segment once, finds overlaps, keeps clips and their upload outcome, and totals bytes per camera', async () => {
    const s = await open();
    try {
      const rec = s.recordings();
      const seg = (startMs: number, bytes: number) => ({
        cameraId: 'cam',
        startMs,
        endMs: startMs + 10_000,
        file: `cam/${startMs}.mp4`,
        bytes,
        mode: 'continuous' as const,
      });
      assert.equal(await rec.addSegment(seg(T, 100)), true);
      assert.equal(await rec.addSegment(seg(T, 100)), false, 'the same file twice is stored once');
      assert.equal(await rec.addSegment(seg(T + 10_000, 200)), true);
      const found = await rec.segments('cam', T + 5000, T + 12_000);
      assert.deepEqual(
        found.map((r) => [r.startMs, r.bytes, r.mode]),
        [
          [T, 100, 'continuous'],
          [T + 10_000, 200, 'continuous'],
        ],
      );
      await rec.openClip({ cameraId: 'cam', eventId: 'e1', startMs: T, endMs: T + 30_000 }, T);
      await rec.finishClip(
        {
          cameraId: 'cam',
          eventId: 'e1',
          state: 'ready',
          startMs: T,
          endMs: T + 30_000,
          durationMs: 29_000,
          bytes: 700,
          file: 'clips/e1.mp4',
          reason: null,
        },
        T + 1,
      );
      assert.deepEqual(await rec.clip('cam', 'e1'), {
        ...{ cameraId: 'cam', eventId: 'e1', state: 'ready', startMs: T, endMs: T + 30_000, durationMs: 29_000 },
        ...{ bytes: 700, file: 'clips/e1.mp4', reason: null, updatedMs: T + 1 },
      });
      assert.deepEqual(await rec.totals(), [{ cameraId: 'cam', segmentBytes: 300, clipBytes: 700, oldestMs: T }]);
      assert.deepEqual(
        (await rec.unsentClips(T + 10, T + 10)).map((c) => [c.eventId, c.attempts]),
        [['e1', 0]],
      );
      await rec.settleUpload('cam', 'e1', { state: 'retry', reason: 'cloud away', nextMs: T + 60_000 });
      assert.deepEqual(await rec.unsentClips(T + 10, T + 10), []);
      assert.deepEqual(await rec.uploadOf('cam', 'e1'), { state: null, reason: 'cloud away', attempts: 1 });
      assert.deepEqual((await rec.indexedFiles('cam')).sort(), ['cam/1796551200000.mp4', 'cam/1796551210000.mp4', 'clips/e1.mp4'].sort());
      await rec.removeSegments(found.map((r) => r.id));
      await rec.removeClips([{ cameraId: 'cam', eventId: 'e1' }]);
      assert.deepEqual(await rec.totals(), [{ cameraId: 'cam', segmentBytes: 0, clipBytes: 0, oldestMs: null }]);

      await s.exclusive((db) =>
        db.run(
          `INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, end_timestamp) VALUES ('e2', 'cam', NULL, ?, ?)`,
          [T / 1000, T / 1000 + 20],
        ),
      );
      assert.deepEqual(await rec.event('cam', 'e2'), { eventId: 'e2', activityType: 'MOTION', startMs: T, endMs: T + 20_000 });
      assert.deepEqual(
        (await rec.events('cam', T - 1000, T + 1000)).map((e) => e.eventId),
        ['e2'],
      );
    } finally {
      await s.close();
    }
  });
});

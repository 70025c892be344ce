/** The camera gateway's logic without Node-RED: access, rate limits, commands, retention, playlists. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FailureLimiter } from '../../../nodes/lib/failure-limiter';
import { FailureLimitsByKind } from '../../../nodes/lib/login-limiter';
import { DEVICE_ID_PATTERN } from '../../../nodes/lib/types';
import { decideAccess, EnrolmentWindow, parseCameraList } from '../../../nodes/hivecam-gateway/access';
import { openSqlite } from '../../support/stores';
import { parseCommand } from '../../../nodes/hivecam-gateway/control';
import {
  gatewayHandler,
  parseTarget,
  requestKind,
  ServiceUnavailableError,
  type GatewayRequestKind,
} from '../../../nodes/hivecam-gateway/gateway-server';
import { makeHls, recordingInput, servedPlaylist } from '../../../nodes/hivecam-gateway/hls';
import { diskUse, pruneUploads, sweepTemporaries } from '../../../nodes/hivecam-gateway/retention';
import { describeContent, imageType, videoType } from '../../../nodes/lib/uploads/media-type';
import { EventStore } from '../../../nodes/lib/store/store';
import type { UploadFileRow } from '../../../nodes/lib/store/uploads';
import { skipWithoutFfmpeg, testRecording } from '../../support/ffmpeg';
import { rows, start } from '../../support/records';
import { tempDir } from '../../support/tmp';

const dir = tempDir('picam-gateway-unit-');

describe('failure limiter', () => {
  it('blocks a client after too many failures in the window, then lets it back', () => {
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000 });
    assert.equal(l.fail('a', 0), false);
    assert.equal(l.fail('a', 100), false);
    assert.equal(l.retryAfter('a', 150), 0);
    assert.equal(l.fail('a', 200), true, 'the third failure blocks');
    assert.equal(l.retryAfter('a', 200), 5);
    assert.equal(l.retryAfter('b', 200), 0, 'other clients are not affected');
    assert.equal(l.retryAfter('a', 5200), 0, 'the block ends');
  });

  it('forgets failures older than the window', () => {
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000 });
    l.fail('a', 0);
    l.fail('a', 100);
    assert.equal(l.fail('a', 2000), false, 'two old failures no longer count');
  });

  it('limits by kind: a block of one kind leaves the others open, and an unlimited kind is never counted', async () => {
    const limits = { maxFailures: 2, windowMs: 1000, blockMs: 5000 };
    const l = new FailureLimitsByKind<GatewayRequestKind>({ certificate: limits, upload: limits });
    await l.fail('upload', 'cam', 0);
    assert.equal(await l.fail('upload', 'cam', 1), true, 'refused uploads block uploads');
    assert.equal(await l.retryAfter('upload', 'cam', 2), 5);
    assert.equal(await l.retryAfter('certificate', 'cam', 2), 0, 'but not the certificates');
    for (let i = 0; i < 100; i++) assert.equal(await l.fail('other', 'cam', i), false);
    assert.equal(await l.retryAfter('other', 'cam', 100), 0, 'a kind without limits is never blocked');
  });

  it('tells the kind of a gateway request by its path', () => {
    assert.equal(requestKind('/hivecam/cert/56C1CADCF1FA4C6CAEBA3E2FD85EFEBF'), 'certificate');
    assert.equal(requestKind('/hivecam/upload'), 'upload');
    assert.equal(requestKind('/fileservice/presignedUploadUrl'), 'upload');
    assert.equal(requestKind('/fileservice/upload/X/activity/u/f.zip'), 'upload');
    assert.equal(requestKind('/hivecam/56C1CADCF1FA4C6CAEBA3E2FD85EFEBF'), 'other');
    assert.equal(requestKind('/health'), 'other');
    assert.equal(requestKind('/nowhere'), 'other');
  });
});

describe('certificate access', () => {
  it('allows settings, registered cameras and enrolment; refuses the rest with the way out', () => {
    const registered = { cameraId: 'cam', registeredMs: 1, registeredBy: 'admin' as const, certIssuedMs: null, certRequests: 0 };
    assert.deepEqual(decideAccess('cam', { inSettings: true, windowOpen: false }), { allowed: true, via: 'settings' });
    assert.deepEqual(decideAccess('cam', { registered, inSettings: false, windowOpen: false }), { allowed: true, via: 'registered' });
    assert.deepEqual(decideAccess('new', { inSettings: false, windowOpen: true }), { allowed: true, via: 'enrolment' });
    const refused = decideAccess('new', { inSettings: false, windowOpen: false });
    assert.equal(refused.allowed, false);
    assert.match((refused as { reason: string }).reason, /open it, or register the camera/);
  });

  it('opens and closes the enrolment window in the store, and refuses nonsense durations', async () => {
    const store = await openSqlite();
    try {
      const w = new EnrolmentWindow(() => store.uploads());
      assert.equal(await w.isOpen(0), false);
      assert.equal(await w.open(10, 1000), 1000 + 600_000);
      assert.equal(await w.isOpen(600_999), true);
      assert.equal(await w.isOpen(601_000), false);
      assert.equal(await new EnrolmentWindow(() => store.uploads()).isOpen(2000), true, 'kept in the store, not in the object');
      await w.open(10, 0);
      await w.open(0, 1);
      assert.equal(await w.isOpen(2), false, '0 closes it');
      await assert.rejects(w.open(-1), RangeError);
      await assert.rejects(w.open(Number.NaN), RangeError);
    } finally {
      await store.close();
    }
  });

  it('reads the registered list from the settings and names the invalid ids', () => {
    const { ids, invalid } = parseCameraList(' cam-1, cam_2  bad.id,,cam-1 ', (id) => DEVICE_ID_PATTERN.test(id));
    assert.deepEqual([...ids], ['cam-1', 'cam_2']);
    assert.deepEqual(invalid, ['bad.id']);
  });
});

describe('gateway commands', () => {
  it('parses every command and its argument', () => {
    assert.deepEqual(parseCommand('enrolment', { minutes: 15 }), { command: 'enrolment', minutes: 15 });
    assert.deepEqual(parseCommand('enrolment', '0'), { command: 'enrolment', minutes: 0 });
    const cam = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
    assert.deepEqual(parseCommand('register', { cameraId: cam }), { command: 'register', cameraId: cam });
    assert.deepEqual(parseCommand('unregister', cam), { command: 'unregister', cameraId: cam });
    // A registration from before ids were checked strictly can still be removed.
    assert.deepEqual(parseCommand('unregister', 'cam-1'), { command: 'unregister', cameraId: 'cam-1' });
    assert.deepEqual(parseCommand('usage', undefined), { command: 'usage' });
  });

  it('says what is wrong with a bad one', () => {
    assert.throws(() => parseCommand('enrolment', {}), /payload.minutes between 0/);
    assert.throws(() => parseCommand('enrolment', { minutes: 5000 }), /between 0 \(close\) and 1440 \(got 5000\)/);
    // Not minutes, though Number() reads them as 1, 1 and 0 (a null closed enrolment).
    for (const minutes of [[1], true, null, '1e1', '0x10'])
      assert.throws(() => parseCommand('enrolment', { minutes }), /payload.minutes between 0/, JSON.stringify(minutes));
    assert.throws(() => parseCommand('register', { cameraId: 'a/b' }), /register needs payload.cameraId: a camera id is 32 upper-case hex/);
    // Only VBC01 ids are registered (the key and the broker's camera login go by them), with the usual slips named.
    assert.throws(() => parseCommand('register', { cameraId: 'cam-1' }), /32 upper-case hex digits, e\.g\. [0-9A-F]{32} \(got "cam-1"\)/);
    assert.throws(() => parseCommand('register', '56c1cadcf1fa4c6caeba3e2fd85efebf'), /\(upper case, as the camera sends it\)/);
    assert.throws(() => parseCommand('register', '56c1cadc-f1fa-4c6c-aeba-3e2fd85efebf'), /\(without dashes, upper case/);
    assert.throws(() => parseCommand('unregister', { cameraId: 'a/b' }), /unregister needs payload.cameraId/);
    assert.throws(() => parseCommand(undefined, {}), /msg.topic must be one of enrolment, register/);
  });
});

describe('upload retention', () => {
  const row = (root: string, eventId: string, uploadedAt: number): UploadFileRow => {
    const uploadDir = join(root, 'cam-a', `${eventId}-x`);
    mkdirSync(uploadDir, { recursive: true });
    const filePath = join(uploadDir, 'thumb.jpg');
    writeFileSync(filePath, 'jpeg');
    return { eventId, cameraId: 'cam-a', fileType: 'thumbnail', filePath, fileName: 'thumb.jpg', fileSize: 4, uploadDir, uploadedAt };
  };

  it('removes old uploads with their rows and event links, keeps new ones, and reports disk use', async () => {
    const file = join(dir, 'retention.db');
    const root = join(dir, 'uploads');
    const store = await EventStore.open({ file });
    try {
      const now = Date.now();
      await store.writeAsync(start('old', now - 40 * 86_400_000, 'cam-a'));
      const uploads = store.uploads();
      const old = row(root, 'old', Math.floor(now / 1000) - 40 * 86_400);
      const fresh = row(root, 'new', Math.floor(now / 1000) - 86_400);
      await uploads.recordUpload([old, fresh]);
      assert.deepEqual((await diskUse(uploads, root)).byType, { thumbnail: { files: 2, bytes: 8 } });

      const result = await pruneUploads(uploads, root, 30, now);
      assert.deepEqual(result, { files: 1, folders: 1, failures: [], failed: 0 });
      assert.equal(existsSync(old.uploadDir), false);
      assert.equal(existsSync(fresh.filePath), true);
      const usage = await diskUse(uploads, root);
      assert.equal(usage.files, 1);
      assert.ok(usage.disk!.totalBytes > 0);
      const [event] = await rows<{ thumbnail_path: string | null }>(
        file,
        "SELECT thumbnail_path FROM activity_events WHERE event_id = 'old'",
      );
      assert.equal(event!.thumbnail_path, null, 'the event no longer points at a deleted file');
      assert.deepEqual(
        await pruneUploads(uploads, root, 0, now),
        { files: 0, folders: 0, failures: [], failed: 0 },
        '0 days keeps everything',
      );
    } finally {
      await store.close();
    }
  });

  it('never deletes a folder outside the uploads folder, whatever a row says', async () => {
    const store = await EventStore.open({ file: join(dir, 'outside.db') });
    try {
      const elsewhere = row(join(dir, 'elsewhere'), 'e', 1);
      await store.uploads().recordUpload([elsewhere]);
      const result = await pruneUploads(store.uploads(), join(dir, 'uploads-2'), 1);
      assert.equal(result.folders, 0);
      assert.match(result.failures[0]!, /not inside .*left alone/);
      assert.equal(existsSync(elsewhere.filePath), true);
    } finally {
      await store.close();
    }
  });
});

describe('HLS playlist', () => {
  it('points the segments next to the served playlist URL', async () => {
    const p = join(dir, 'index.m3u8');
    writeFileSync(p, '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nsegment000.ts\n#EXTINF:1.0,\nsegment001.ts\n#EXT-X-ENDLIST\n');
    const served = await servedPlaylist(p, 'evt:1');
    assert.match(served, /^evt%3A1\/segment000\.ts$/m);
    assert.match(served, /^evt%3A1\/segment001\.ts$/m);
    assert.match(served, /#EXT-X-ENDLIST/);
  });
});

describe('media types by content (issue 13, items 2 and 7)', () => {
  const ts = Buffer.alloc(188 * 3);
  for (let i = 0; i < 3; i++) ts[i * 188] = 0x47;
  const cases: Array<[string, Buffer, string | undefined, string | undefined]> = [
    ['MP4', Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom\0\0\0\0isomiso2')]), 'mp4', undefined],
    ['MPEG-TS', ts, 'mpegts', undefined],
    ['Matroska', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x42, 0x82, 0x88, ...Buffer.from('matroska')]), 'matroska', undefined],
    ['WebM', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x42, 0x82, 0x84, ...Buffer.from('webm')]), 'webm', undefined],
    ['H.264 (SPS)', Buffer.from([0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e]), 'h264', undefined],
    ['H.264 (AUD, short start code)', Buffer.from([0, 0, 1, 0x09, 0xf0]), 'h264', undefined],
    ['JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]), undefined, 'jpeg'],
    ['PNG', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), undefined, 'png'],
    ['an HLS playlist', Buffer.from('#EXTM3U\n#EXTINF:4,\n/etc/passwd\n'), undefined, undefined],
    ['an ffmpeg concat list', Buffer.from("ffconcat version 1.0\nfile '/etc/passwd'\n"), undefined, undefined],
    ['HTML', Buffer.from('<!DOCTYPE html><script>alert(1)</script>'), undefined, undefined],
    ['a lone JPEG start marker', Buffer.from([0xff, 0xd8, 0x3c, 0x68]), undefined, undefined],
    ['one TS sync byte', Buffer.from([0x47, 1, 2, 3]), undefined, undefined],
    ['nothing', Buffer.alloc(0), undefined, undefined],
  ];
  for (const [what, head, video, image] of cases) {
    it(`tells ${what} by its bytes`, () => {
      assert.equal(videoType(head)?.format, video);
      assert.equal(imageType(head)?.format, image);
    });
  }

  it('says what a refused file looks like', () => {
    assert.equal(describeContent(Buffer.from('#EXTM3U\n')), 'an HLS playlist');
    assert.equal(describeContent(Buffer.from('ffconcat version 1.0')), 'an ffmpeg concat list');
    assert.equal(describeContent(Buffer.from('<svg onload=x>')), 'HTML/XML');
    assert.equal(describeContent(Buffer.from('root:x:0:0:root:/root:/bin/bash\n')), 'text');
    assert.equal(describeContent(Buffer.from([0xde, 0xad, 0xbe, 0xef])), 'data of an unknown format');
  });

  it('gives ffmpeg the format and the file protocol only', () => {
    const args = recordingInput('/u/cam/clip.mp4', videoType(Buffer.from('\0\0\0\x18ftypisom'))!);
    assert.deepEqual(args, ['-protocol_whitelist', 'file', '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/u/cam/clip.mp4']);
  });
});

describe('makeHls with a real ffmpeg (issue 13, item 2)', { skip: skipWithoutFfmpeg }, () => {
  const root = join(dir, 'hls-uploads');
  const outside = join(dir, 'hls-outside');
  mkdirSync(join(root, 'cam'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  const remux = (from: string, to: string, format: string, extra: string[] = []) => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', from, '-c', 'copy', ...extra, '-f', format, to]);
    assert.equal(r.status, 0, String(r.stderr));
  };
  // A video outside the uploads folder: what a hostile playlist would name.
  const secretMp4 = join(outside, 'secret.mp4');
  const secretTs = join(outside, 'secret.ts');
  let n2 = 0;
  const out = () => join(root, 'cam', `out${n2++}`);
  const segments = (dirPath: string) => (existsSync(dirPath) ? readdirSync(dirPath).filter((f) => f.endsWith('.ts')) : []);

  const refusals: Array<[string, () => string, RegExp]> = [
    [
      'an HLS playlist naming a file outside the uploads folder',
      () => `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n${secretTs}\n#EXT-X-ENDLIST\n`,
      /is an HLS playlist, not a video/,
    ],
    ['an ffmpeg concat list', () => `ffconcat version 1.0\nfile '${secretTs}'\n`, /is an ffmpeg concat list, not a video/],
    ['a text file', () => 'root:x:0:0:root:/root:/bin/bash\n', /is text, not a video/],
  ];
  for (const [what, content, message] of refusals) {
    it(`refuses ${what} before ffmpeg runs`, async () => {
      if (!existsSync(secretTs)) {
        testRecording(secretMp4);
        remux(secretMp4, secretTs, 'mpegts');
      }
      const recording = join(root, 'cam', `rec${n2}.ts`);
      writeFileSync(recording, content());
      const dest = out();
      await assert.rejects(makeHls(recording, dest, { uploadsRoot: root }), message);
      assert.deepEqual(segments(dest), [], 'no segment written');
    });
  }

  it('refuses a recording whose real path is outside the uploads folder', async () => {
    if (!existsSync(secretMp4)) testRecording(secretMp4);
    const link = join(root, 'cam', 'link.mp4');
    symlinkSync(secretMp4, link);
    await assert.rejects(makeHls(link, out(), { uploadsRoot: root }), /is not inside the uploads folder/);
    await assert.rejects(makeHls(secretMp4, out(), { uploadsRoot: root }), /is not inside the uploads folder/);
  });

  const formats: Array<[string, string, string, string[]]> = [
    ['MP4', 'clip.mp4', 'mp4', []],
    ['MPEG-TS', 'clip.ts', 'mpegts', []],
    ['Matroska', 'clip.mkv', 'matroska', []],
    ['raw H.264', 'clip.h264', 'h264', ['-bsf:v', 'h264_mp4toannexb']],
  ];
  for (const [what, name, format, extra] of formats) {
    it(`converts ${what} into HLS segments`, async () => {
      const source = join(root, 'cam', `source-${format}.mp4`);
      testRecording(source);
      const recording = join(root, 'cam', name);
      if (format === 'mp4') writeFileSync(recording, readFileSync(source));
      else remux(source, recording, format, extra);
      const dest = out();
      const playlist = await makeHls(recording, dest, { uploadsRoot: root });
      assert.match(readFileSync(playlist, 'utf8'), /#EXT-X-ENDLIST/);
      assert.ok(segments(dest).length > 0);
    });
  }
});

describe('gateway request targets (issue 13, item 16)', () => {
  it('reads origin and absolute forms, and refuses the rest with a 4xx', () => {
    assert.deepEqual(parseTarget('/hivecam/upload?camera_id=a').pathname, '/hivecam/upload');
    assert.equal(parseTarget('/hivecam/upload?camera_id=a&x=%E0%A4%A').query.get('camera_id'), 'a');
    assert.equal(parseTarget('http://host:80/hivecam/cam-a?x=1').pathname, '/hivecam/cam-a');
    for (const [target, status] of [
      ['http://[', 400],
      ['*', 400],
      ['hivecam/cam-a', 400],
      [`/${'a'.repeat(600)}`, 414],
    ] as const) {
      assert.throws(
        () => parseTarget(target),
        (err: { status?: number }) => err.status === status,
        target,
      );
    }
  });
});

describe('stale temporary uploads (issue 13, item 3)', () => {
  it('removes old received bodies and half-extracted archives, and keeps fresh ones and real uploads', async () => {
    const root = join(dir, 'sweep');
    const now = Date.now();
    const made = (path: string, ageMs: number, folder = false) => {
      if (folder) mkdirSync(path, { recursive: true });
      else {
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, 'x');
      }
      const t = new Date(now - ageMs);
      utimesSync(path, t, t);
      return path;
    };
    const oldBody = made(join(root, '.incoming', 'upload-1.zip'), 7200_000);
    const freshBody = made(join(root, '.incoming', 'upload-2.zip'), 1000);
    const oldPartial = made(join(root, 'cam-a', '.evt-1-1-aa.partial-Ab12Cd'), 7200_000, true);
    const oldUpload = made(join(root, 'cam-a', 'evt-1-1-aa'), 7200_000, true);
    made(join(root, 'stray-file'), 7200_000);

    assert.deepEqual(await sweepTemporaries(root, 3600_000, now), { removed: 2, failures: [] });
    assert.equal(existsSync(oldBody), false);
    assert.equal(existsSync(oldPartial), false);
    assert.equal(existsSync(freshBody), true, 'may still be receiving');
    assert.equal(existsSync(oldUpload), true, "a stored upload is retention's business");
    assert.deepEqual(await sweepTemporaries(root, 0, now + 1), { removed: 1, failures: [] }, 'at start: every temporary');
    assert.deepEqual(await sweepTemporaries(join(dir, 'no-such-folder'), 0), { removed: 0, failures: [] });
  });
});

describe('gateway answers for server-side trouble', () => {
  it("answers 507 for a full disk and 503 for a closed database, and does not count it as the camera's failure", async () => {
    const one = { maxFailures: 1, windowMs: 60_000, blockMs: 60_000 };
    const limiter = new FailureLimitsByKind<GatewayRequestKind>({ certificate: one, upload: one });
    const failures = [
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
      new ServiceUnavailableError('the database is not open yet'),
    ];
    let i = 0;
    const server = createServer(
      gatewayHandler({
        config: () => {
          throw new Error('not asked');
        },
        access: async () => ({ allowed: false, reason: 'no' }),
        certificates: async () => ({ certificatePem: '', privateKey: '', caCertificate: '' }),
        certificateIssued: async () => undefined,
        upload: async () => {
          throw failures[i++ % failures.length]!;
        },
        limiter,
        log: () => undefined,
        warn: () => undefined,
      }),
    );
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hivecam/upload`;
      const full = await fetch(url, { method: 'POST', body: 'x' });
      assert.equal(full.status, 507, 'a full disk: Insufficient Storage');
      assert.equal(full.headers.get('retry-after'), '60');
      assert.match(((await full.json()) as { error: string }).error, /no space left for uploads/);
      const closed = await fetch(url, { method: 'POST', body: 'x' });
      assert.equal(closed.status, 503);
      assert.match(((await closed.json()) as { error: string }).error, /database is not open yet/);
      assert.equal(await limiter.retryAfter('upload', '127.0.0.1'), 0, 'no failure counted (one would block here)');
      assert.equal((await fetch(url.replace('/hivecam/upload', '/nowhere'))).status, 404);
      assert.equal(await limiter.retryAfter('upload', '127.0.0.1'), 0, 'a 404 is a protocol mistake, not counted');
      assert.equal((await fetch(url, { method: 'POST', body: 'x' })).status, 507);
      const key = url.replace('/hivecam/upload', '/hivecam/cert/56C1CADCF1FA4C6CAEBA3E2FD85EFEBF');
      assert.equal((await fetch(key)).status, 403);
      assert.ok((await limiter.retryAfter('certificate', '127.0.0.1')) > 0, 'a refused key request is counted');
    } finally {
      server.close();
    }
  });
});

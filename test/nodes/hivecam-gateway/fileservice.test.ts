/**
 * hivecam-gateway's VBC01 upload service in a real Node-RED runtime with a
 * real SQLite file, called as a VBC01 camera calls it (vbc01-protocol.md
 * §3.3-3.4, §8): presign, then PUT of thumbnail and encrypted recording parts;
 * uploads before their activity start; and every bad request a clear 4xx.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import gatewayNode from '../../../nodes/hivecam-gateway/hivecam-gateway';
import { EventStore } from '../../../nodes/lib/store/store';
import { simulatedUploads } from '../../../cli/commands/simulator-uploads';
import { hasFfmpeg } from '../../support/ffmpeg';
import { freePort } from '../../support/ports';
import { rawRequest } from '../../support/raw-http';
import { start } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { encryptSegment as encrypt, fakeTs, presign, putUpload, recordingPart, uploadLikeCamera } from '../../support/vbc01-upload';
import { waitFor } from '../../support/wait';
import { rawZip } from '../../support/zip';
import { httpNodeServer } from '../../support/http-node';
import { Collector, helper, rows, until, useNodeRed } from '../../support/node-helper';
import { JPEG } from '../../support/pictures';

useNodeRed();

const dir = tempDir('picam-fileservice-');
const CAM = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const STRANGER = '0123456789ABCDEF0123456789ABCDEF';
const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB${what.length}\n-----END ${what}-----\n`;

const mediaRoutes = httpNodeServer('/api/media');
const exposeHttpNode = mediaRoutes.expose;
const media = (path: string) => mediaRoutes.fetch(path);

let n = 0;
async function load(settings: Record<string, unknown> = {}) {
  const work = join(dir, `case${n++}`);
  const certs = join(work, 'certs');
  mkdirSync(certs, { recursive: true });
  writeFileSync(join(certs, 'ca.crt'), PEM('CERTIFICATE'));
  writeFileSync(join(certs, 'camera.crt'), PEM('CERTIFICATE'));
  writeFileSync(join(certs, 'camera.key'), PEM('PRIVATE KEY'));
  const file = join(work, 'gateway.db');
  await (await EventStore.open({ file })).close();
  const port = await freePort();
  const uploads = join(work, 'uploads');
  await helper.load(
    [databaseNode, gatewayNode, exposeHttpNode],
    [
      { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL' },
      {
        id: 'gw',
        type: 'hivecam-gateway',
        database: 'db',
        port,
        bind: '127.0.0.1',
        brokerHost: 'mqtt.example.net',
        brokerPort: 8883,
        certDir: certs,
        uploadDir: uploads,
        cameras: CAM,
        maxUploadMB: 1,
        retainDays: 30,
        ...settings,
        wires: [['snapshots'], ['events']],
      },
      { id: 'snapshots', type: 'helper' },
      { id: 'events', type: 'helper' },
    ],
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the gateway listening', async () =>
    (await fetch(`${base}/hivecam/${CAM}`).catch(() => undefined))?.ok ? true : undefined,
  );
  return { base, port, file, uploads, snapshots: new Collector('snapshots'), events: new Collector('events') };
}

/** Writes an activity start as mqtt-processor stores it (a second connection to the runtime's file). */
async function storeStart(file: string, eventId: string, timeMs = Date.now()): Promise<void> {
  const store = await EventStore.open({ file });
  try {
    await store.writeAsync(start(eventId, timeMs, CAM));
  } finally {
    await store.close();
  }
}

const filesUnder = (root: string) =>
  existsSync(root)
    ? readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
    : [];

describe('hivecam-gateway: uploads as VBC01 cameras send them', () => {
  it('presigns a URL on the address the camera dialled, then stores the PUT thumbnail for the event (empty 200)', async () => {
    const { base, port, file, snapshots } = await load();
    const eventId = randomUUID();
    await storeStart(file, eventId);
    const signed = await presign(base, { fileName: `${eventId}-0-0.zip`, category: 'thumbnail', cameraId: CAM });
    assert.equal(signed.status, 200);
    const { url } = (await signed.json()) as { url: string };
    assert.match(
      url,
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/fileservice/upload/${CAM}/thumbnail/[0-9a-f-]{36}/${eventId}-0-0\\.zip$`),
    );
    const put = await putUpload(url, rawZip([{ name: '/snapshot.jpg', data: JPEG }]), { sourceId: CAM, eventId });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal(await put.text(), '', 'the real server answers an empty body');

    const thumb = await media(`/thumbnail/${eventId}?camera=${CAM}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await thumb.arrayBuffer()), JPEG);
    // The alert nodes get it as every thumbnail: a snapshot message naming the stored picture.
    const snap = await until('the snapshot for the alerts', () => snapshots.msgs.find((m) => m.payload.eventId === eventId));
    assert.equal(snap.payload.deviceId, CAM);
    assert.deepEqual(readFileSync(snap.payload.image as string), JPEG);
    const [event] = await rows<{ thumbnail_path: string }>(file, 'SELECT thumbnail_path FROM activity_events WHERE event_id = ?', [
      eventId,
    ]);
    assert.equal(event!.thumbnail_path, snap.payload.image);
  });

  it('presigns on the address the camera dialled through a TLS-terminating proxy on loopback (X-Forwarded-Proto/-Host)', async () => {
    const { base } = await load({ publicUrl: 'https://192.168.1.10:80' });
    const eventId = randomUUID();
    const request = { fileName: `${eventId}-0-0.zip`, category: 'thumbnail', cameraId: CAM };
    const proxied = await presign(base, request, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'cams.example.org:8443' });
    assert.equal(proxied.status, 200, await proxied.clone().text());
    assert.match(((await proxied.json()) as { url: string }).url, /^https:\/\/cams\.example\.org:8443\/fileservice\/upload\//);
    // A forwarded host that is no host name: the configured URL instead.
    const bad = await presign(base, request, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example/steal?' });
    assert.match(((await bad.json()) as { url: string }).url, /^https:\/\/192\.168\.1\.10:80\/fileservice\/upload\//);
  });

  it('joins two encrypted recording parts into one event folder, decrypted, and plays them in numeric order', async () => {
    const { base, file, uploads } = await load();
    const eventId = randomUUID();
    await storeStart(file, eventId);
    const key = randomBytes(16);
    const segment = (i: number) => ({ index: i, data: fakeTs(i) });
    // Part 1 holds 0, 1, 2; part 2 holds 3 … 11 (10 and 11 sort before 2 as text).
    const parts = [recordingPart(key, [0, 1, 2].map(segment)), recordingPart(key, [3, 4, 5, 6, 7, 8, 9, 10, 11].map(segment))];
    for (const [i, zip] of parts.entries()) {
      // The event id from the file name only: no x-amz-meta-eventId.
      const res = await uploadLikeCamera(base, { fileName: `${eventId}-1-${i}.zip`, category: 'activity', cameraId: CAM, zip });
      assert.equal(res.status, 200, await res.clone().text());
    }
    const folder = join(CAM, 'events', eventId);
    const stored = filesUnder(uploads).filter((f) => f.startsWith(folder));
    assert.equal(stored.filter((f) => f.endsWith('.ts')).length, 12, stored.join('\n'));
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(readFileSync(join(uploads, folder, '720p', `${i}.ts`)), fakeTs(i), `segment ${i} decrypted`);
    }
    assert.deepEqual(readFileSync(join(uploads, folder, 'aes.key')), key, 'the key kept for later parts without one');

    const playlist = await media(`/playlist/${eventId}.m3u8?camera=${CAM}`);
    assert.equal(playlist.status, 200);
    const lines = (await playlist.text()).split('\n');
    assert.equal(lines[0], '#EXTM3U');
    assert.ok(lines.includes('#EXT-X-ENDLIST'));
    assert.ok(!lines.some((l) => l.startsWith('#EXT-X-KEY')), 'decrypted on arrival: no key in the playlist');
    const entries = lines.filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(
      entries,
      Array.from({ length: 12 }, (_, i) => `${eventId}/${i}.ts?camera=${CAM}`),
    );
    const seg = await media(`/playlist/${entries[10]}`);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('content-type'), 'video/mp2t');
    assert.deepEqual(Buffer.from(await seg.arrayBuffer()), fakeTs(10));
    const download = await media(`/recording/${eventId}?camera=${CAM}`);
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), Buffer.concat(Array.from({ length: 12 }, (_, i) => fakeTs(i))));
    const [event] = await rows<{ recording_path: string; upload_status: string }>(
      file,
      'SELECT recording_path, upload_status FROM activity_events WHERE event_id = ?',
      [eventId],
    );
    assert.equal(event!.recording_path, join(uploads, folder));
    assert.equal(event!.upload_status, 'uploaded');
  });

  it('prefers 1080p over 720p, and takes a part sent again without doubling it', async () => {
    const { base } = await load();
    const eventId = randomUUID();
    const key = randomBytes(16);
    const part = rawZip([
      { name: 'aes.key', data: key },
      ...[0, 1].map((i) => ({ name: `720p/${i}.ts`, data: encrypt(fakeTs(i), key) })),
      ...[0, 1].map((i) => ({ name: `1080p/${i}.ts`, data: encrypt(fakeTs(100 + i), key) })),
    ]);
    for (let i = 0; i < 2; i++) {
      const res = await uploadLikeCamera(base, { fileName: `${eventId}-1-0.zip`, category: 'activity', cameraId: CAM, zip: part });
      assert.equal(res.status, 200, await res.clone().text());
    }
    const text = await (await media(`/playlist/${eventId}.m3u8?camera=${CAM}`)).text();
    assert.equal(text.split('\n').filter((l) => l.endsWith(`?camera=${CAM}`)).length, 2, text);
    assert.deepEqual(Buffer.from(await (await media(`/playlist/${eventId}/1.ts?camera=${CAM}`)).arrayBuffer()), fakeTs(101));
  });

  it('creates the event with an upload that comes before its start (type from the header); the start updates it and keeps the files', async () => {
    const { base, file } = await load();
    const eventId = randomUUID();
    const beforeS = Math.floor(Date.now() / 1000);
    const key = randomBytes(16);
    const thumb = await uploadLikeCamera(base, {
      fileName: `${eventId}-0-0.zip`,
      category: 'thumbnail',
      cameraId: CAM,
      zip: rawZip([{ name: 'thumb.jpg', data: JPEG }]),
      meta: { eventId, activityType: 'MOTION_SMART' },
    });
    assert.equal(thumb.status, 200, await thumb.clone().text());
    const rec = await uploadLikeCamera(base, {
      fileName: `${eventId}-1-0.zip`,
      category: 'activity',
      cameraId: CAM,
      zip: recordingPart(key, [{ index: 0, data: fakeTs(0) }]),
    });
    assert.equal(rec.status, 200, await rec.clone().text());
    assert.equal((await media(`/thumbnail/${eventId}?camera=${CAM}`)).status, 200, 'served before the start');

    type Row = {
      activity_type: string;
      start_timestamp: number;
      thumbnail_path: string | null;
      recording_path: string | null;
      upload_status: string | null;
    };
    const event = async () =>
      rows<Row>(
        file,
        'SELECT activity_type, start_timestamp, thumbnail_path, recording_path, upload_status FROM activity_events WHERE event_id = ?',
        [eventId],
      );
    // As the real platform (vbc01-protocol.md §3.3): the upload made the event, listed with its thumbnail before any start.
    const [made] = await event();
    assert.ok(made, 'the upload created the event');
    assert.equal(made.activity_type, 'MOTION_SMART', 'x-amz-meta-activityType');
    assert.ok(made.start_timestamp >= beforeS && made.start_timestamp <= Math.floor(Date.now() / 1000), 'the server time');
    assert.match(made.thumbnail_path ?? '', /thumb\.jpg$/);
    assert.match(made.recording_path ?? '', new RegExp(`${eventId}$`));
    assert.equal(made.upload_status, 'uploaded');

    const startMs = Date.now() - 60_000;
    await storeStart(file, eventId, startMs);
    const [updated] = await event();
    assert.deepEqual(
      updated,
      { ...made, activity_type: 'MOTION', start_timestamp: Math.floor(startMs / 1000) },
      "the start sets its own time and type, and keeps the upload's columns",
    );
    await storeStart(file, eventId, startMs); // a QoS 1 redelivery of the start
    assert.deepEqual((await event())[0], updated);
    assert.equal((await rows(file, 'SELECT 1 FROM activity_events WHERE event_id = ?', [eventId])).length, 1, 'one event');
  });

  it('creates the event as MOTION when the upload names no type, and leaves an event that exists alone', async () => {
    const { base, file } = await load();
    const early = randomUUID();
    const thumb = (eventId: string, meta: Record<string, string> = {}) =>
      uploadLikeCamera(base, {
        fileName: `${eventId}-0-0.zip`,
        category: 'thumbnail',
        cameraId: CAM,
        zip: rawZip([{ name: 'thumb.jpg', data: JPEG }]),
        meta,
      });
    assert.equal((await thumb(early)).status, 200);
    assert.deepEqual(await rows(file, 'SELECT activity_type FROM activity_events WHERE event_id = ?', [early]), [
      { activity_type: 'MOTION' },
    ]);
    // The start first: the upload changes neither its type nor its time.
    const late = randomUUID();
    const startMs = Date.now() - 3_600_000;
    await storeStart(file, late, startMs);
    assert.equal((await thumb(late, { activityType: 'SOUND' })).status, 200);
    assert.deepEqual(await rows(file, 'SELECT activity_type, start_timestamp FROM activity_events WHERE event_id = ?', [late]), [
      { activity_type: 'MOTION', start_timestamp: Math.floor(startMs / 1000) },
    ]);
  });

  it('takes the event id from x-amz-meta-eventId over the file name, and the camera from x-amz-meta-sourceId over the path', async () => {
    const { base, file } = await load();
    const byHeader = randomUUID();
    const byName = randomUUID();
    const signed = await presign(base, { fileName: `${byName}-1-0.zip`, category: 'thumbnail', cameraId: CAM });
    const { url } = (await signed.json()) as { url: string };
    // The path names a stranger; the header, as on the real server, names the camera.
    const res = await putUpload(url.replace(`/${CAM}/`, `/${STRANGER}/`), rawZip([{ name: 'a.jpg', data: JPEG }]), {
      sourceId: CAM,
      eventId: byHeader,
    });
    assert.equal(res.status, 200, await res.clone().text());
    const stored = await rows<{ event_id: string; camera_id: string }>(file, 'SELECT event_id, camera_id FROM file_uploads');
    assert.deepEqual(stored, [{ event_id: byHeader, camera_id: CAM }]);
    // Upper-case in the name is the same event, as cameras write ids in lower case.
    const upper = await uploadLikeCamera(base, {
      fileName: `${byName.toUpperCase()}-2-0.zip`,
      category: 'thumbnail',
      cameraId: CAM,
      zip: rawZip([{ name: 'b.jpg', data: JPEG }]),
    });
    assert.equal(upper.status, 200, await upper.clone().text());
    assert.equal((await rows(file, 'SELECT 1 FROM file_uploads WHERE event_id = ?', [byName])).length, 1);
  });
});

describe("the simulator's upload step", () => {
  it('uploads a thumbnail and, with ffmpeg, a two-part encrypted recording the gateway joins into one playlist', async () => {
    const { base, file } = await load();
    const eventId = randomUUID();
    const lines: string[] = [];
    await simulatedUploads({ gatewayUrl: base, log: (l) => lines.push(l) })({ cameraId: CAM, eventId, activityType: 'MOTION' });
    assert.equal((await media(`/thumbnail/${eventId}?camera=${CAM}`)).status, 200);
    const parts = await rows<{ n: number }>(file, "SELECT COUNT(*) AS n FROM file_uploads WHERE event_id = ? AND file_type = 'segment'", [
      eventId,
    ]);
    if (!hasFfmpeg) {
      assert.equal(parts[0]!.n, 0);
      assert.match(lines.join('\n'), /ffmpeg is not available/, 'says why there is no recording');
      return;
    }
    assert.ok(parts[0]!.n >= 2, 'segments from both parts');
    const playlist = await (await media(`/playlist/${eventId}.m3u8?camera=${CAM}`)).text();
    assert.equal(playlist.split('\n').filter((l) => l.endsWith(`?camera=${CAM}`)).length, parts[0]!.n);
  });
});

describe('hivecam-gateway: bad uploads get a clear 4xx, never a 500, and leave nothing behind', () => {
  // Each from its own address (X-Forwarded-For from loopback is trusted): the failure limiter stays out of the way.
  let client = 0;
  const from = () => ({ 'x-forwarded-for': `10.0.0.${++client}` });

  it('refuses bad presign requests', async () => {
    const { base } = await load();
    const post = (body: string | undefined, headers: Record<string, string> = {}) =>
      fetch(`${base}/fileservice/presignedUploadUrl`, { method: 'POST', headers: { ...from(), ...headers }, body });
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ['no body', post(undefined), 400, /no body/],
      ['not JSON', post('{"fileName":'), 400, /not JSON/],
      [
        'a bad category',
        post(JSON.stringify({ fileName: 'a.zip', category: 'firmware', metadata: { 'x-amz-meta-sourceId': CAM } })),
        400,
        /category must be one of activity, thumbnail/,
      ],
      [
        'a path as file name',
        post(JSON.stringify({ fileName: '../x.zip', category: 'activity', metadata: { 'x-amz-meta-sourceId': CAM } })),
        400,
        /plain file name/,
      ],
      ['no camera', post(JSON.stringify({ fileName: 'a.zip', category: 'activity' })), 400, /x-amz-meta-sourceId/],
      [
        'an unknown camera',
        post(JSON.stringify({ fileName: 'a.zip', category: 'activity', metadata: { 'x-amz-meta-sourceId': STRANGER } })),
        403,
        /not registered/,
      ],
      ['GET', fetch(`${base}/fileservice/presignedUploadUrl`, { headers: from() }), 405, /use POST/],
    ];
    for (const [what, request, status, reason] of cases) {
      const res = await request;
      assert.equal(res.status, status, `${what}: ${await res.clone().text()}`);
      assert.match(((await res.json()) as { error: string }).error, reason, what);
    }
  });

  it('refuses bad PUTs with the reason, and keeps no file of them', async () => {
    const { base, uploads, file } = await load();
    const eventId = randomUUID();
    const key = randomBytes(16);
    const path = (camera = CAM, category = 'activity', name = `${eventId}-1-0.zip`) =>
      `${base}/fileservice/upload/${camera}/${category}/${randomUUID()}/${name}`;
    const put = (url: string, body: Buffer | undefined, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'PUT', headers: { ...from(), ...headers }, body: body ? new Uint8Array(body) : undefined });
    const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['no body', () => put(path(), undefined), 400, /No file content/],
      ['a short path', () => put(`${base}/fileservice/upload/${CAM}/activity/${eventId}-1-0.zip`, JPEG), 400, /upload path must be/],
      ['an unknown camera', () => put(path(STRANGER), rawZip([{ name: 'a.jpg', data: JPEG }])), 403, /not registered/],
      ['a bad category', () => put(path(CAM, 'firmware'), rawZip([{ name: 'a.jpg', data: JPEG }])), 400, /category must be one of/],
      ['no event id', () => put(path(CAM, 'thumbnail', 'picture.zip'), rawZip([{ name: 'a.jpg', data: JPEG }])), 400, /no event id/],
      [
        'a bad event id header',
        () => put(path(), rawZip([{ name: 'a.jpg', data: JPEG }]), { 'x-amz-meta-eventId': 'a b' }),
        400,
        /eventId must match/,
      ],
      ['not a ZIP', () => put(path(), Buffer.from('hello, I am not an archive')), 400, /corrupt/],
      ['traversal', () => put(path(), rawZip([{ name: '/../../evil.jpg', data: JPEG }])), 422, /traversal/],
      [
        'a 17-byte key',
        () =>
          put(
            path(),
            rawZip([
              { name: 'aes.key', data: Buffer.alloc(17) },
              { name: '720p/0.ts', data: encrypt(fakeTs(0), key) },
            ]),
          ),
        422,
        /exactly 16/,
      ],
      [
        'a wrong key',
        () =>
          put(
            path(),
            rawZip([
              { name: 'aes.key', data: randomBytes(16) },
              { name: '720p/0.ts', data: encrypt(fakeTs(0), key) },
            ]),
          ),
        422,
        /does not decrypt|not MPEG-TS/,
      ],
      [
        'an encrypted segment without a key',
        () => put(path(CAM, 'activity', `${randomUUID()}-1-0.zip`), rawZip([{ name: '720p/0.ts', data: encrypt(fakeTs(0), key) }])),
        422,
        /neither this part nor an earlier one/,
      ],
      [
        'a segment in a thumbnail upload',
        () => put(path(CAM, 'thumbnail'), recordingPart(key, [{ index: 0, data: fakeTs(0) }])),
        415,
        /thumbnail upload cannot hold/,
      ],
      [
        'a "thumbnail" that is HTML',
        () => put(path(CAM, 'thumbnail'), rawZip([{ name: 'a.jpg', data: Buffer.from('<html><script>alert(1)</script>') }])),
        415,
        /HTML/,
      ],
      [
        'a segment named by no number',
        () =>
          put(
            path(),
            rawZip([
              { name: 'aes.key', data: key },
              { name: '720p/last.ts', data: encrypt(fakeTs(0), key) },
            ]),
          ),
        422,
        /N\.ts/,
      ],
      ['DELETE', () => fetch(path(), { method: 'DELETE', headers: from() }), 405, /use PUT/],
    ];
    for (const [what, request, status, reason] of cases) {
      const res = await request();
      assert.equal(res.status, status, `${what}: ${await res.clone().text()}`);
      assert.match(((await res.json()) as { error: string }).error, reason, what);
    }
    assert.deepEqual((await rows(file, 'SELECT * FROM file_uploads')).length, 0, 'nothing recorded');
    assert.deepEqual(
      filesUnder(uploads).filter((f) => !f.endsWith('aes.key')),
      [],
      'no file kept: no temporary, no extracted part',
    );
  });

  it('refuses a part whose files would replace a folder or go below a file of the event with 409, moving none of them', async () => {
    const { base, uploads, file } = await load();
    const eventId = randomUUID();
    const send = (category: string, name: string, zip: Buffer) =>
      putUpload(`${base}/fileservice/upload/${CAM}/${category}/${randomUUID()}/${name}`, zip, { sourceId: CAM, eventId }, from());
    assert.equal((await send('thumbnail', `${eventId}-0-0.zip`, rawZip([{ name: 'thumbnail.jpg', data: JPEG }]))).status, 200);
    assert.equal((await send('activity', `${eventId}-1-0.zip`, rawZip([{ name: 'x.mp4/y.mp4', data: Buffer.from('x') }]))).status, 200);
    const before = filesUnder(uploads).sort();
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'below the thumbnail',
        rawZip([{ name: 'thumbnail.jpg/0.mp4', data: Buffer.from('x') }]),
        /"thumbnail.jpg\/0.mp4" would replace the file "thumbnail.jpg"/,
      ],
      [
        'over a folder, after a file that would fit',
        rawZip([
          { name: 'a.mp4', data: Buffer.from('a') },
          { name: 'x.mp4', data: Buffer.from('x') },
        ]),
        /"x.mp4" would replace a folder/,
      ],
    ];
    for (const [what, zip, reason] of cases) {
      const res = await send('activity', `${eventId}-1-1.zip`, zip);
      assert.equal(res.status, 409, `${what}: ${await res.clone().text()}`);
      assert.match(((await res.json()) as { error: string }).error, reason, what);
    }
    assert.deepEqual(filesUnder(uploads).sort(), before, 'nothing moved in, nothing left beside');
    assert.equal((await rows(file, 'SELECT * FROM file_uploads WHERE event_id = ?', [eventId])).length, 2);
  });

  it('keeps the uploads of an event whose id is 128 dots or colons (too long a folder name once encoded)', async () => {
    const { base } = await load();
    for (const eventId of ['.'.repeat(128), ':'.repeat(128)]) {
      const url = `${base}/fileservice/upload/${CAM}/thumbnail/${randomUUID()}/thumb.zip`;
      const put = await putUpload(url, rawZip([{ name: 'thumbnail.jpg', data: JPEG }]), { sourceId: CAM, eventId }, from());
      assert.equal(put.status, 200, await put.clone().text());
      const thumb = await media(`/thumbnail/${encodeURIComponent(eventId)}?camera=${CAM}`);
      assert.deepEqual(Buffer.from(await thumb.arrayBuffer()), JPEG, eventId.slice(0, 3));
    }
  });

  it('takes VBC01 camera ids only, in the presign, the path and x-amz-meta-sourceId; the older upload keeps other ids', async () => {
    // "cam-a" is in the settings, as a script that uses POST /hivecam/upload has it.
    const { base, file } = await load({ cameras: `${CAM},cam-a` });
    const eventId = randomUUID();
    const zip = rawZip([{ name: 'a.jpg', data: JPEG }]);
    const presignFor = (sourceId: string) =>
      fetch(`${base}/fileservice/presignedUploadUrl`, {
        method: 'POST',
        headers: from(),
        body: JSON.stringify({ fileName: `${eventId}-0-0.zip`, category: 'thumbnail', metadata: { 'x-amz-meta-sourceId': sourceId } }),
      });
    const putAs = (pathCamera: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/fileservice/upload/${pathCamera}/thumbnail/${randomUUID()}/${eventId}-0-0.zip`, {
        method: 'PUT',
        headers: { ...from(), ...headers },
        body: new Uint8Array(zip),
      });
    const cases: Array<[string, () => Promise<Response>, RegExp]> = [
      [
        'a device id in the presign',
        () => presignFor('cam-a'),
        /x-amz-meta-sourceId"\]: a camera id is 32 upper-case hex digits.*\(got "cam-a"\)/,
      ],
      ['a lower-case id in the presign', () => presignFor(CAM.toLowerCase()), /\(upper case, as the camera sends it\)/],
      ['a device id in the path', () => putAs('cam-a'), /the camera \(x-amz-meta-sourceId or the path\): a camera id is 32/],
      ['a device id in x-amz-meta-sourceId', () => putAs(CAM, { 'x-amz-meta-sourceId': 'cam-a' }), /\(got "cam-a"\)/],
    ];
    for (const [what, request, reason] of cases) {
      const res = await request();
      assert.equal(res.status, 400, `${what}: ${await res.clone().text()}`);
      assert.match(((await res.json()) as { error: string }).error, reason, what);
    }
    assert.equal((await rows(file, 'SELECT * FROM file_uploads')).length, 0, 'nothing stored');
    const legacy = await fetch(`${base}/hivecam/upload?camera_id=cam-a&event_id=${eventId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip', ...from() },
      body: new Uint8Array(zip),
    });
    assert.equal(legacy.status, 200, await legacy.clone().text());
  });

  it('cuts off a body shorter than its Content-Length (408) and removes what it had written', { timeout: 60_000 }, async () => {
    const { port, uploads } = await load({ uploadIdleS: 1 });
    const target = `/fileservice/upload/${CAM}/activity/${randomUUID()}/${randomUUID()}-1-0.zip`;
    const exchange = rawRequest(port, [
      `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\nX-Forwarded-For: 10.1.0.1\r\n\r\n`,
      randomBytes(5000),
    ]);
    try {
      const res = await exchange.response;
      assert.equal(res.status, 408, res.body);
      assert.match(JSON.parse(res.body).error, /sent nothing for 1 s/);
      await exchange.closed;
      assert.deepEqual(filesUnder(uploads), []);
    } finally {
      exchange.socket.destroy();
    }
  });

  it('refuses a chunked body (the camera always sends a Content-Length)', async () => {
    const { port } = await load();
    const target = `/fileservice/upload/${CAM}/activity/${randomUUID()}/${randomUUID()}-1-0.zip`;
    const exchange = rawRequest(port, [
      `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    ]);
    try {
      const res = await exchange.response;
      assert.equal(res.status, 411, res.body);
      assert.match(JSON.parse(res.body).error, /Content-Length/);
    } finally {
      exchange.socket.destroy();
    }
  });
});

/**
 * hivecam-gateway in a real Node-RED runtime with a real SQLite file, asked
 * over HTTP the way a VBC01 camera asks: broker endpoint, certificates (only
 * for registered or enrolling cameras), uploads good and hostile, rate limits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import gatewayNode from '../../../nodes/hivecam-gateway/hivecam-gateway';
import { EventStore } from '../../../nodes/lib/store/store';
import { skipWithoutFfmpeg, testRecording } from '../../support/ffmpeg';
import { freePort } from '../../support/ports';
import { multipartBody, postHead, rawRequest, type FormPart } from '../../support/raw-http';
import { start } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { rawZip } from '../../support/zip';
import { httpNodeServer } from '../../support/http-node';
import { Collector, helper, node, rows, spy, text, until, useNodeRed } from '../../support/node-helper';
import { JPEG, PNG, pngClaiming } from '../../support/pictures';

useNodeRed();

const dir = tempDir('picam-gateway-');
const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB${what.length}\n-----END ${what}-----\n`;
const mediaRoutes = httpNodeServer('/api/media');
const exposeHttpNode = mediaRoutes.expose;
const media = (path: string) => mediaRoutes.fetch(path);

/** Starts like an MP4 (an ftyp box), so the gateway hands it to ffmpeg. */
const MP4_LOOKALIKE = Buffer.concat([
  Buffer.from([0, 0, 0, 24]),
  Buffer.from('ftypisom'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isomiso2'),
  randomBytes(2000),
]);
let n = 0;
/** VBC01 camera ids as the firmware has them (32 upper-case hex digits); CAM_A is in the settings. */
const CAM_A = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const CAM_B = '67E48798E70345179A86980A7CAAAE73';
const CAM_NEW = 'A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5';
const CAM_LATE = 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF';
const guess = (i: number) => `DEADBEEF${String(i).padStart(24, '0')}`;

interface Loaded {
  base: string;
  port: number;
  file: string;
  uploads: string;
  snapshots: Collector;
  events: Collector;
}

async function load(
  o: { certs?: boolean; cameras?: string; ffmpeg?: string; settings?: Record<string, unknown>; before?: (uploads: string) => void } = {},
): Promise<Loaded> {
  const work = join(dir, `case${n++}`);
  const certs = join(work, 'certs');
  mkdirSync(certs, { recursive: true });
  if (o.certs !== false) {
    writeFileSync(join(certs, 'ca.crt'), PEM('CERTIFICATE'));
    writeFileSync(join(certs, 'camera.crt'), PEM('CERTIFICATE'));
    writeFileSync(join(certs, 'camera.key'), PEM('PRIVATE KEY'));
  }
  const file = join(work, 'gateway.db');
  // An activity event the uploads will be linked to, as mqtt-processor would have stored it.
  const store = await EventStore.open({ file });
  await store.writeAsync(start('evt-1', Date.now(), 'cam-a'));
  await store.close();
  const port = await freePort();
  const uploads = join(work, 'uploads');
  o.before?.(uploads);
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
        cameras: o.cameras ?? `cam-a,${CAM_A}`,
        maxUploadMB: 1,
        retainDays: 30,
        ...(o.ffmpeg ? { ffmpeg: o.ffmpeg } : {}),
        ...o.settings,
        wires: [['snapshots'], ['events']],
      },
      { id: 'snapshots', type: 'helper' },
      { id: 'events', type: 'helper' },
    ],
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the gateway listening', async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), 5000);
  return { base, port, file, uploads, snapshots: new Collector('snapshots'), events: new Collector('events') };
}

function upload(base: string, zip: Buffer, fields: Record<string, string> = { camera_id: 'cam-a', event_id: 'evt-1' }) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), 'upload.zip');
  return fetch(`${base}/hivecam/upload`, { method: 'POST', body: form });
}

/** Every file under the uploads folder (the temporary area included). */
const filesUnder = (root: string) =>
  existsSync(root)
    ? readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name))
    : [];

async function command(topic: string, payload?: unknown) {
  const events = new Collector('events');
  node('gw').receive({ topic, payload });
  const replies = await until('a reply', () => events.msgs.find((m) => m.topic === topic));
  return replies as { payload: any; statusCode: number };
}

describe('hivecam-gateway: configuration and certificates', () => {
  it('refuses invalid camera ids before they reach the database', async () => {
    const { base } = await load();
    for (const id of ['bad.id', 'a'.repeat(65), "x'--", CAM_A.toLowerCase(), `${CAM_A}0`, 'cam-a']) {
      const res = await fetch(`${base}/hivecam/cert/${encodeURIComponent(id)}`);
      assert.equal(res.status, 400, id);
      assert.match(((await res.json()) as { error: string }).error, /32 upper-case hex digits/);
    }
  });

  it('gives the keys to a registered camera only, and to others only while enrolment is open', async () => {
    const { base, file, events } = await load();
    const ok = await fetch(`${base}/hivecam/cert/${CAM_A}`);
    assert.equal(ok.status, 200, 'CAM_A is in the settings');
    const bundle = (await ok.json()) as Record<string, string>;
    assert.deepEqual(Object.keys(bundle).sort(), ['caCertificate', 'certificatePem', 'privateKey']);
    assert.match(bundle.privateKey!, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(bundle.privateKey!, /-----END PRIVATE KEY-----$/, 'trimmed, as the real server sends it');

    const stranger = await fetch(`${base}/hivecam/cert/${CAM_NEW}`);
    assert.equal(stranger.status, 403);
    assert.match(((await stranger.json()) as { error: string }).error, /not registered and enrolment is closed/);

    const opened = await command('enrolment', { minutes: 5 });
    assert.equal(opened.payload.open, true);
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_NEW}`)).status, 200, 'enrols while the window is open');
    await command('enrolment', { minutes: 0 });
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_NEW}`)).status, 200, 'stays registered after the window closed');
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_LATE}`)).status, 403, 'a camera after the window is refused');

    const registered = await rows<{ camera_id: string; registered_by: string; cert_requests: number }>(
      file,
      'SELECT camera_id, registered_by, cert_requests FROM gateway_cameras ORDER BY camera_id',
    );
    assert.deepEqual(registered, [
      { camera_id: CAM_A, registered_by: 'admin', cert_requests: 1 },
      { camera_id: CAM_NEW, registered_by: 'enrolment', cert_requests: 2 },
    ]);
    assert.ok(events.msgs.some((m) => m.topic === 'certificate' && m.payload.cameraId === CAM_NEW && m.payload.via === 'enrolment'));
  });

  it('registers and unregisters cameras by command, and refuses bad commands', async () => {
    const { base } = await load({ cameras: '' });
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_B}`)).status, 403);
    assert.equal((await command('register', { cameraId: CAM_B })).statusCode, 200);
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_B}`)).status, 200);
    const listed = await command('cameras');
    assert.deepEqual(
      listed.payload.registered.map((c: { cameraId: string }) => c.cameraId),
      [CAM_B],
    );
    assert.equal((await command('unregister', { cameraId: CAM_B })).payload.removed, true);
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_B}`)).status, 403);

    const errors = spy('gw', 'error');
    const bad = await command('enrolment', { minutes: 'lots' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.payload.error, /between 0 \(close\) and 1440/);
    assert.equal((await command('register', { cameraId: '../etc' })).statusCode, 400);
    assert.equal((await command('reboot-everything')).statusCode, 400);
    await until('errors reported', () => errors.length === 3);
    assert.match(text(errors[2]!), /unknown command/);
  });

  it('answers 503 with the fix when the certificates were never created', async () => {
    const { base } = await load({ certs: false });
    const warnings = spy('gw', 'warn');
    const res = await fetch(`${base}/hivecam/cert/${CAM_A}`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /certificates are not set up/);
    await until('logged with the fix', () => warnings.map(text).find((w) => /npm run certs/.test(w)));
  });

  it('blocks a client that keeps asking keys for unknown ids, with Retry-After, and still gives it its config', async () => {
    const { base } = await load();
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${base}/hivecam/cert/${guess(i)}`)).status, 403);
    const blocked = await fetch(`${base}/hivecam/cert/${CAM_A}`);
    assert.equal(blocked.status, 429, 'even a good key request waits out the block');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.equal((await fetch(`${base}/hivecam/${CAM_A}`)).status, 200, 'the config holds no secret: never blocked');
  });
});

describe('hivecam-gateway: uploads', () => {
  it('stores a good upload, links it to its event and hands the thumbnail to the alert nodes', async () => {
    const { base, file, uploads, snapshots } = await load();
    const zip = rawZip([
      { name: 'thumbnail.jpg', data: JPEG },
      { name: 'clip.mp4', data: randomBytes(4000), deflate: true },
      { name: 'meta.json', data: Buffer.from('{"eventId":"evt-1"}') },
    ]);
    const res = await upload(base, zip);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { files: Array<{ name: string; type: string; bytes: number }> };
    assert.deepEqual(
      body.files.map((f) => [f.name, f.type, f.bytes]),
      [
        ['thumbnail.jpg', 'thumbnail', JPEG.length],
        ['clip.mp4', 'recording', 4000],
        ['meta.json', 'metadata', 19],
      ],
    );
    const stored = await rows<{ file_type: string; file_path: string; event_id: string; camera_id: string }>(
      file,
      'SELECT file_type, file_path, event_id, camera_id FROM file_uploads ORDER BY id',
    );
    assert.equal(stored.length, 3);
    for (const r of stored) {
      assert.ok(r.file_path.startsWith(join(uploads, 'cam-a')), r.file_path);
      assert.ok(existsSync(r.file_path));
    }
    const [event] = await rows<{ thumbnail_path: string; recording_filename: string; recording_size: number; upload_status: string }>(
      file,
      "SELECT thumbnail_path, recording_filename, recording_size, upload_status FROM activity_events WHERE event_id = 'evt-1'",
    );
    assert.deepEqual(event, {
      thumbnail_path: stored[0]!.file_path,
      recording_filename: 'clip.mp4',
      recording_size: 4000,
      upload_status: 'uploaded',
    });
    const snap = await snapshots.first();
    assert.deepEqual(
      { ...snap.payload, timeMs: undefined },
      { kind: 'snapshot', deviceId: 'cam-a', eventId: 'evt-1', image: stored[0]!.file_path, timeMs: undefined },
    );
  });

  it('takes a raw application/zip body with the ids in the query string', async () => {
    const { base, file } = await load();
    const res = await fetch(`${base}/hivecam/upload?camera_id=cam-a&event_id=evt-2`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip' },
      body: new Uint8Array(rawZip([{ name: 'snap.jpg', data: JPEG }])),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await rows(file, "SELECT * FROM file_uploads WHERE event_id = 'evt-2'")).length, 1);
  });

  const hostile: Array<[string, () => Buffer, number, RegExp]> = [
    ['path traversal', () => rawZip([{ name: '../../evil.jpg', data: JPEG }]), 422, /traversal/],
    // A leading `/` is the archive's root (cameras write `/aes.key`); a drive letter stays absolute.
    ['an absolute path', () => rawZip([{ name: 'C:/etc/evil.jpg', data: JPEG }]), 422, /absolute/],
    ['a climb out from the archive root', () => rawZip([{ name: '/../etc/evil.jpg', data: JPEG }]), 422, /traversal/],
    ['a symlink', () => rawZip([{ name: 'link.jpg', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), 422, /symlink/],
    ['a zip bomb', () => rawZip([{ name: 'bomb.mp4', data: Buffer.alloc(900_000), deflate: true }]), 413, /ratio/],
    ['too many files', () => rawZip(Array.from({ length: 70 }, (_, i) => ({ name: `f${i}.jpg`, data: JPEG }))), 413, /too-many-files/],
    ['a wrong file type', () => rawZip([{ name: 'run.sh', data: Buffer.from('#!/bin/sh\nrm -rf /\n') }]), 415, /type/],
    ['a file that is no zip', () => Buffer.from('hello, I am not an archive'), 400, /corrupt/],
  ];
  for (const [what, zip, status, reason] of hostile) {
    it(`refuses ${what} with ${status}, writing nothing`, async () => {
      const { base, file, uploads, events } = await load();
      const warnings = spy('gw', 'warn');
      const res = await upload(base, zip());
      assert.equal(res.status, status, await res.clone().text());
      assert.match(((await res.json()) as { error: string }).error, reason);
      assert.deepEqual(filesUnder(uploads), [], 'nothing inside the uploads folder');
      assert.equal(existsSync(join(uploads, '..', 'evil.jpg')) || existsSync(join(dir, 'evil.jpg')), false, 'nothing outside it');
      assert.deepEqual(await rows(file, 'SELECT * FROM file_uploads'), []);
      await until('a log line', () => warnings.map(text).find((w) => /POST \/hivecam\/upload .*→ 4\d\d/.test(w)));
      assert.ok(events.msgs.some((m) => m.topic === 'rejected'));
    });
  }

  it('refuses uploads from unregistered cameras, bad ids, missing fields and oversize bodies', async () => {
    const { base, file, uploads } = await load();
    const zip = rawZip([{ name: 'a.jpg', data: JPEG }]);
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [upload(base, zip, { camera_id: 'cam-z', event_id: 'e' }), 403, /not registered/],
      [upload(base, zip, { camera_id: 'cam-a', event_id: 'e/../x' }), 400, /event_id must match/],
      [upload(base, zip, { camera_id: 'cam-a' }), 400, /event_id is missing/],
      [upload(base, Buffer.alloc(1100 * 1024, 1)), 413, /larger than/],
      [fetch(`${base}/hivecam/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }), 415, /multipart/],
      [fetch(`${base}/hivecam/upload`), 405, /POST/],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      assert.equal(res.status, status, await res.clone().text());
      assert.match(((await res.json()) as { error: string }).error, message);
    }
    assert.deepEqual(filesUnder(uploads), []);
    assert.deepEqual(await rows(file, 'SELECT * FROM file_uploads'), []);
  });

  it("keeps a Pi's motion snapshot from MQTT as its event's thumbnail, and refuses one that is no JPEG", async () => {
    const { file, uploads } = await load();
    const kept = await command('alert/snapshot', { kind: 'snapshot', deviceId: 'picam-1', eventId: 'pi-evt-1', image: JPEG });
    assert.equal(kept.statusCode, 200);
    const [row] = await rows<{ camera_id: string; file_type: string; file_path: string }>(
      file,
      "SELECT camera_id, file_type, file_path FROM file_uploads WHERE event_id = 'pi-evt-1'",
    );
    assert.equal(row!.camera_id, 'picam-1');
    assert.equal(row!.file_type, 'thumbnail');
    assert.ok(row!.file_path.startsWith(join(uploads, 'picam-1')));
    assert.deepEqual(readFileSync(row!.file_path), JPEG);

    const bad = await command('snapshot', { deviceId: 'picam-1', eventId: 'pi-evt-2', image: Buffer.from('not a jpeg') });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.payload.error, /a whole JPEG or PNG: it is text, not JPEG or PNG/);
    const cut = await command('snapshot', { deviceId: 'picam-1', eventId: 'pi-evt-2', image: JPEG.subarray(0, JPEG.length - 40) });
    assert.match(cut.payload.error, /a whole JPEG or PNG: it is a JPEG cut short/);
    assert.equal((await command('snapshot', { deviceId: 'picam-1', image: JPEG })).statusCode, 400, 'no event, nothing to attach it to');
  });

  it('stops the ffmpeg that is turning a recording into HLS when it is redeployed', async () => {
    // An ffmpeg that answers -version and otherwise hangs, telling us its pid.
    const pidFile = join(dir, 'ffmpeg.pid');
    const fake = join(dir, 'slow-ffmpeg');
    writeFileSync(fake, `#!/bin/sh\n[ "$1" = "-version" ] && exit 0\necho $$ > ${pidFile}\nexec sleep 60\n`, { mode: 0o755 });
    const { base } = await load({ ffmpeg: fake });
    assert.equal((await upload(base, rawZip([{ name: 'clip.mp4', data: MP4_LOOKALIKE }]))).status, 200);
    const pid = await waitFor('ffmpeg started', async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined));
    await helper.unload();
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'no ffmpeg left behind');
  });

  it('reports disk use and frees its port on redeploy', async () => {
    const { base } = await load();
    assert.equal((await upload(base, rawZip([{ name: 'a.jpg', data: JPEG }]))).status, 200);
    const usage = await command('usage');
    assert.equal(usage.payload.files, 1);
    assert.equal(usage.payload.bytes, JPEG.length);
    assert.ok(usage.payload.disk.freeBytes > 0);
    await helper.unload();
    await assert.rejects(fetch(`${base}/health`), 'the port is closed');
  });
});

/** What a multipart upload of `parts` gets, sent byte by byte. */
async function multipart(port: number, parts: FormPart[], opts: { close?: boolean; boundary?: string } = {}) {
  const boundary = opts.boundary ?? 'gateway-test-boundary';
  const body = multipartBody(parts, boundary, opts);
  const exchange = rawRequest(port, [postHead('/hivecam/upload', `multipart/form-data; boundary=${boundary}`, body.length), body]);
  try {
    return await exchange.response;
  } finally {
    exchange.socket.destroy();
  }
}

const IDS: FormPart[] = [
  { name: 'camera_id', value: 'cam-a' },
  { name: 'event_id', value: 'evt-1' },
];
const ZIP_PART = (name = 'file'): FormPart => ({ name, filename: 'upload.zip', data: rawZip([{ name: 'a.jpg', data: JPEG }]) });

describe('hivecam-gateway: malformed and stalled uploads (issue 13, item 3)', () => {
  const malformed: Array<[string, FormPart[], { close?: boolean }, number, RegExp]> = [
    ['two file parts', [...IDS, ZIP_PART(), ZIP_PART('second')], {}, 400, /exactly one ZIP file/],
    ['no file part', IDS, {}, 400, /holds no ZIP file/],
    ['an empty file part', [...IDS, { name: 'file', filename: 'upload.zip', data: Buffer.alloc(0) }], {}, 400, /holds no ZIP file/],
    ['a truncated body', [...IDS, ZIP_PART()], { close: false }, 400, /malformed multipart body/],
    [
      'wrong field names',
      [{ name: 'camera', value: 'cam-a' }, { name: 'event', value: 'evt-1' }, ZIP_PART()],
      {},
      400,
      /camera_id is missing .*got "camera", "event"/,
    ],
    ['the ids after the file part', [ZIP_PART(), ...IDS], {}, 400, /camera_id is missing \(a form field before the file part/],
    ['an overlong field', [{ name: 'camera_id', value: 'c'.repeat(5000) }, IDS[1]!, ZIP_PART()], {}, 400, /longer than 1024 bytes/],
  ];
  for (const [what, parts, opts, status, message] of malformed) {
    it(`answers ${what} with ${status} and keeps no temporary file`, { timeout: 60_000 }, async () => {
      const { port, uploads, file, events } = await load();
      const res = await multipart(port, parts, opts);
      assert.equal(res.status, status, res.body);
      assert.match(JSON.parse(res.body).error, message);
      assert.deepEqual(filesUnder(uploads), [], 'nothing in uploads/.incoming or anywhere else');
      assert.deepEqual(await rows(file, 'SELECT * FROM file_uploads'), []);
      assert.ok(
        events.msgs.some((m) => m.topic === 'rejected'),
        'counted as a refused upload',
      );
    });
  }

  it('refuses an unknown content type and a multipart type without a boundary with a 4xx', async () => {
    const { base } = await load();
    const noBoundary = await fetch(`${base}/hivecam/upload`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: 'x',
    });
    assert.equal(noBoundary.status, 400);
    assert.match(((await noBoundary.json()) as { error: string }).error, /malformed multipart request/);
    const mixed = await fetch(`${base}/hivecam/upload`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/mixed; boundary=x' },
      body: 'x',
    });
    assert.equal(mixed.status, 415);
  });

  it('counts malformed uploads in the failure limiter', { timeout: 60_000 }, async () => {
    const { port } = await load();
    for (let i = 0; i < 10; i++) assert.equal((await multipart(port, [...IDS, ZIP_PART(), ZIP_PART('second')])).status, 400);
    const blocked = await multipart(port, [...IDS, ZIP_PART()]);
    assert.equal(blocked.status, 429, 'the eleventh request waits out the block');
    // Refused uploads are the camera's protocol, not an attack: its config and keys stay open.
    assert.equal((await fetch(`http://127.0.0.1:${port}/hivecam/cert/${CAM_A}`)).status, 200, 'certificates still served');
    assert.equal((await fetch(`http://127.0.0.1:${port}/hivecam/${CAM_A}`)).status, 200, 'config still served');
  });

  it('cuts off a body that stalls with 408 and removes what it had written', { timeout: 60_000 }, async () => {
    const { port, uploads } = await load({ settings: { uploadIdleS: 1 } });
    const boundary = 'stall';
    const head = multipartBody([...IDS, ZIP_PART()], boundary, { close: false });
    // Each declares more than it sends, then sends nothing more: slow-loris uploads, in both shapes.
    const exchanges = [
      rawRequest(port, [postHead('/hivecam/upload', `multipart/form-data; boundary=${boundary}`, head.length + 100_000), head]),
      rawRequest(port, [postHead('/hivecam/upload?camera_id=cam-a&event_id=evt-1', 'application/zip', 100_000), randomBytes(5000)]),
    ];
    try {
      for (const exchange of exchanges) {
        const res = await exchange.response;
        assert.equal(res.status, 408, res.body);
        assert.match(JSON.parse(res.body).error, /sent nothing for 1 s/);
        assert.equal(res.headers.connection, 'close');
        await exchange.closed;
      }
      assert.deepEqual(filesUnder(uploads), [], 'the temporary files are gone');
    } finally {
      for (const exchange of exchanges) exchange.socket.destroy();
    }
  });

  it('refuses an unregistered camera before any byte of its upload is written', { timeout: 60_000 }, async () => {
    const { port, uploads } = await load();
    const boundary = 'stranger';
    const start = multipartBody([{ name: 'camera_id', value: 'cam-z' }, IDS[1]!, ZIP_PART()], boundary, { close: false });
    const multi = rawRequest(port, [
      postHead('/hivecam/upload', `multipart/form-data; boundary=${boundary}`, start.length + 500_000),
      start,
    ]);
    const raw = rawRequest(port, [postHead('/hivecam/upload?camera_id=cam-z&event_id=e', 'application/zip', 500_000), randomBytes(1000)]);
    try {
      for (const exchange of [multi, raw]) {
        const res = await exchange.response; // answered while the body is still incomplete
        assert.equal(res.status, 403, res.body);
        assert.match(JSON.parse(res.body).error, /camera cam-z is not registered/);
      }
      assert.deepEqual(filesUnder(uploads), [], 'not a byte on disk');
    } finally {
      multi.socket.destroy();
      raw.socket.destroy();
    }
  });

  it('removes stale temporaries at start and on each retention run, and leaves uploads in progress alone', async () => {
    const old = new Date(Date.now() - 3 * 3600_000);
    const plant = (path: string) => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'left by a crash');
      utimesSync(path, old, old);
    };
    const { uploads } = await load({
      before: (root) => {
        plant(join(root, '.incoming', 'upload-1-1-1.zip'));
        plant(join(root, '.incoming', 'upload-2-2-2.zip'));
        mkdirSync(join(root, 'cam-a', '.evt-1-1-abc.partial-XyZ123'), { recursive: true });
      },
    });
    await until(
      'swept at start',
      () => filesUnder(uploads).length === 0 && !existsSync(join(uploads, 'cam-a', '.evt-1-1-abc.partial-XyZ123')),
    );
    const stale = join(uploads, '.incoming', 'upload-3-3-3.zip');
    const inProgress = join(uploads, '.incoming', 'upload-4-4-4.zip');
    plant(stale);
    writeFileSync(inProgress, 'being received');
    assert.equal((await command('prune')).statusCode, 200);
    assert.equal(existsSync(stale), false, 'a stale temporary is removed hourly');
    assert.equal(existsSync(inProgress), true, 'a fresh one may still be receiving');
  });
});

describe('hivecam-gateway: media content (issue 13, items 2 and 7)', () => {
  it('refuses a thumbnail that is no image, whatever its name says', async () => {
    const { base, uploads, file } = await load();
    const res = await upload(base, rawZip([{ name: 'thumbnail.jpg', data: Buffer.from('<html><script>alert(1)</script></html>') }]));
    assert.equal(res.status, 415, await res.clone().text());
    assert.match(
      ((await res.json()) as { error: string }).error,
      /thumbnail "thumbnail.jpg" is HTML\/XML, not an image \(JPEG or PNG expected\)/,
    );
    assert.deepEqual(filesUnder(uploads), []);
    assert.deepEqual(await rows(file, 'SELECT * FROM file_uploads'), []);
  });

  const unusable: Array<[string, Buffer, number, RegExp]> = [
    ['a JPEG start and nothing more', Buffer.from([0xff, 0xd8, 0xff]), 415, /is a JPEG cut short/],
    ['a JPEG cut short', JPEG.subarray(0, 200), 415, /is a JPEG cut short/],
    [
      'a JPEG start before a page',
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('<html><script>x</script>')]),
      415,
      /JPEG/,
    ],
    ['a PNG declaring 50,000 × 50,000 pixels', pngClaiming(50_000, 50_000), 415, /a PNG of 50000 × 50000 pixels, more than a photo/],
    ['a picture over 10 MB', Buffer.concat([JPEG, Buffer.alloc(11 * 2 ** 20)]), 413, /over the 10485760-byte limit of a picture/],
  ];
  for (const [what, data, status, reason] of unusable) {
    it(`refuses a thumbnail that is ${what}, with ${status} and nothing kept`, async () => {
      // Room for the upload itself: the picture's own limit is what refuses it.
      const { base, uploads, file } = await load({ settings: { maxUploadMB: 20 } });
      const res = await upload(base, rawZip([{ name: 'thumbnail.jpg', data }]));
      assert.equal(res.status, status, await res.clone().text());
      assert.match(((await res.json()) as { error: string }).error, reason);
      assert.deepEqual(filesUnder(uploads), []);
      assert.deepEqual(await rows(file, 'SELECT * FROM file_uploads'), []);
    });
  }

  it('serves media with nosniff and the type the bytes really are, and refuses a stored thumbnail that is no image', async () => {
    const { base, file } = await load();
    const gateway = await fetch(`${base}/hivecam/${CAM_A}`);
    assert.equal(gateway.headers.get('x-content-type-options'), 'nosniff', 'the gateway too');
    assert.equal((await fetch(`${base}/nowhere`)).headers.get('x-content-type-options'), 'nosniff');

    const png = PNG;
    assert.equal(
      (
        await upload(
          base,
          rawZip([
            { name: 'thumbnail.jpg', data: png },
            { name: 'clip.mp4', data: MP4_LOOKALIKE },
          ]),
        )
      ).status,
      200,
    );
    const thumb = await media('/thumbnail/evt-1');
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/png', 'a PNG named .jpg is served as what it is');
    assert.equal(thumb.headers.get('x-content-type-options'), 'nosniff');
    const recording = await media('/recording/evt-1');
    assert.equal(recording.status, 200);
    assert.equal(recording.headers.get('content-type'), 'video/mp4');
    assert.match(recording.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal(recording.headers.get('x-content-type-options'), 'nosniff');
    const missing = await media('/thumbnail/no-such-event');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-content-type-options'), 'nosniff');

    // A file stored before thumbnails were checked (or changed on disk since) is not served as an image.
    const [row] = await rows<{ file_path: string }>(file, "SELECT file_path FROM file_uploads WHERE file_type = 'thumbnail'");
    writeFileSync(row!.file_path, '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    const refused = await media('/thumbnail/evt-1');
    assert.equal(refused.status, 415);
    assert.match(((await refused.json()) as { error: string }).error, /is HTML\/XML, not JPEG or PNG: not served/);
  });

  it("keeps a device's PNG snapshot as a PNG, and counts a snapshot that is no picture as refused", async () => {
    const { file, events } = await load();
    const png = PNG;
    assert.equal((await command('alert/snapshot', { kind: 'snapshot', deviceId: 'picam-1', eventId: 'pi-1', image: png })).statusCode, 200);
    const [kept] = await rows<{ file_name: string }>(file, "SELECT file_name FROM file_uploads WHERE event_id = 'pi-1'");
    assert.equal(kept!.file_name, 'snapshot.png');
    const html = Buffer.from([0xff, 0xd8, ...Buffer.from('<html>')]); // starts like a JPEG, is none
    const bad = await command('alert/snapshot', { kind: 'snapshot', deviceId: 'picam-1', eventId: 'pi-2', image: html });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.payload.error, /not JPEG or PNG/);
    assert.ok(
      events.msgs.some((m) => m.topic === 'rejected' && m.payload.cameraId === 'picam-1' && /not JPEG or PNG/.test(m.payload.error)),
    );
    assert.deepEqual(await rows(file, "SELECT * FROM file_uploads WHERE event_id = 'pi-2'"), []);
  });

  it(
    'never copies a file that an uploaded "recording" playlist names, and still converts a real MP4',
    { skip: skipWithoutFfmpeg, timeout: 120_000 },
    async () => {
      // A video outside the uploads folder (another camera's, or any file on the server).
      const secretDir = join(dir, `secret-${n}`);
      mkdirSync(secretDir, { recursive: true });
      const secret = join(secretDir, 'secret.ts');
      testRecording(join(secretDir, 'secret.mp4'));
      const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', join(secretDir, 'secret.mp4'), '-c', 'copy', '-f', 'mpegts', secret]);
      assert.equal(made.status, 0, String(made.stderr));
      const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n${secret}\n#EXT-X-ENDLIST\n`;

      const { base, uploads } = await load();
      const logs = spy('gw', 'log');
      const warnings = spy('gw', 'warn');
      assert.equal((await upload(base, rawZip([{ name: 'clip.ts', data: Buffer.from(playlist) }]))).status, 200);
      const outcome = await until(
        'the recording converted or refused',
        () => [...warnings, ...logs].map(text).find((t) => /evt-1: recording (ready|kept)/.test(t)),
        60_000,
      );
      assert.match(outcome, /not playable in the browser: the recording clip\.ts is an HLS playlist, not a video/);
      const res = await media('/playlist/evt-1.m3u8');
      assert.equal(res.status, 415);
      assert.match(((await res.json()) as { error: string }).error, /is an HLS playlist, not MP4, MPEG-TS/);
      assert.deepEqual(
        filesUnder(uploads).filter((f) => f.endsWith('.m3u8') || /segment\d+\.ts$/.test(f)),
        [],
        'ffmpeg wrote nothing',
      );

      // A real recording of another event still becomes a playlist.
      const real = testRecording(join(secretDir, 'real.mp4'));
      const ok = await upload(base, rawZip([{ name: 'clip.mp4', data: real }]), { camera_id: 'cam-a', event_id: 'evt-2' });
      assert.equal(ok.status, 200);
      const served = await waitFor(
        'the playlist',
        async () => {
          const r = await media('/playlist/evt-2.m3u8');
          return r.status === 200 ? r : undefined;
        },
        60_000,
      );
      assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
      const text2 = await served.text();
      const segment = text2.split('\n').find((l) => l.endsWith('.ts'))!;
      const seg = await media(`/playlist/${segment}`);
      assert.equal(seg.headers.get('content-type'), 'video/mp2t');
      assert.equal((await seg.arrayBuffer()).byteLength % 188, 0);
    },
  );
});

describe('hivecam-gateway: malformed requests get a 4xx, never a 500 (issue 13, item 16)', () => {
  it('answers bad percent-encoding, overlong paths and broken request targets with 400s, and keeps serving', async () => {
    const { base, port } = await load();
    for (const path of ['/hivecam/%E0%A4%A', '/hivecam/cert/%E0%A4%A', '/hivecam/%']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 400, path);
      assert.match(((await res.json()) as { error: string }).error, /bad percent-encoding/);
    }
    assert.equal((await fetch(`${base}/hivecam/${'a'.repeat(600)}`)).status, 414);
    for (const target of ['http://[', '*', `hivecam/${CAM_A}`]) {
      const exchange = rawRequest(port, [`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`]);
      const res = await exchange.response;
      exchange.socket.destroy();
      assert.equal(res.status, 400, target);
    }
    const absolute = rawRequest(port, [`GET http://camera.example/hivecam/${CAM_A} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    assert.equal((await absolute.response).status, 200, 'the absolute form HTTP/1.1 allows still works');
    absolute.socket.destroy();
    const huge = rawRequest(port, [`GET /hivecam/${CAM_A} HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`]);
    assert.equal((await huge.response).status, 431, 'oversized headers');
    huge.socket.destroy();
    assert.equal((await fetch(`${base}/hivecam/${CAM_A}`)).status, 200, 'still serving');
  });

  it('answers malformed media paths of the runtime with 400', async () => {
    await load();
    for (const path of ['/thumbnail/%E0%A4%A', '/playlist/%E0%A4%A.m3u8', '/recording/' + 'e'.repeat(200)]) {
      const res = await media(path);
      assert.equal(res.status, 400, path);
    }
  });

  it('refuses a ZIP entry with a 4,000-character name, too deep or with an overlong part, with 422', async () => {
    for (const name of [`${'a'.repeat(4000)}.jpg`, `${'d/'.repeat(40)}a.jpg`, `${'x'.repeat(300)}/a.jpg`]) {
      await helper.unload();
      const { base, uploads } = await load();
      const res = await upload(base, rawZip([{ name, data: JPEG }]));
      assert.equal(res.status, 422, await res.clone().text());
      const error = ((await res.json()) as { error: string }).error;
      assert.match(error, /archive refused \(name\)/);
      assert.ok(error.length < 400, 'the message quotes the name shortened');
      assert.deepEqual(filesUnder(uploads), []);
    }
  });
});

/**
 * hivecam-gateway in a real Node-RED runtime with a real SQLite file, asked
 * over HTTP the way a VBC01 camera asks: broker endpoint, certificates (only
 * for registered or enrolling cameras), uploads good and hostile, rate limits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import databaseNode from '../../nodes/picam-database/picam-database';
import gatewayNode from '../../nodes/hivecam-gateway/hivecam-gateway';
import { EventStore } from '../../nodes/picam-database/store';
import { freePort } from '../support/ports';
import { start } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';
import { rawZip } from '../support/zip';
import { Collector, helper, node, rows, spy, text, until, useNodeRed } from './support';

useNodeRed();

const dir = tempDir('picam-gateway-');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);
const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB${what.length}\n-----END ${what}-----\n`;
let n = 0;

interface Loaded {
  base: string;
  file: string;
  uploads: string;
  snapshots: Collector;
  events: Collector;
}

async function load(o: { certs?: boolean; cameras?: string; ffmpeg?: string } = {}): Promise<Loaded> {
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
  await helper.load(
    [databaseNode, gatewayNode],
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
        cameras: o.cameras ?? 'cam-a',
        maxUploadMB: 1,
        retainDays: 30,
        ...(o.ffmpeg ? { ffmpeg: o.ffmpeg } : {}),
        wires: [['snapshots'], ['events']],
      },
      { id: 'snapshots', type: 'helper' },
      { id: 'events', type: 'helper' },
    ],
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    'the gateway listening',
    async () => ((await fetch(`${base}/hivecam/cam-a`).catch(() => undefined))?.ok ? true : undefined),
    5000,
  );
  return { base, file, uploads, snapshots: new Collector('snapshots'), events: new Collector('events') };
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
  it('tells a camera where the broker is', async () => {
    const { base } = await load();
    const res = await fetch(`${base}/hivecam/67E48798E70345179A86980A7CAAAE73`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { endpoint: 'mqtt.example.net', port: 8883 });
  });

  it('refuses invalid camera ids before they reach the database', async () => {
    const { base } = await load();
    for (const id of ['bad.id', 'a'.repeat(65), "x'--"]) {
      const res = await fetch(`${base}/hivecam/cert/${encodeURIComponent(id)}`);
      assert.equal(res.status, 400, id);
      assert.match(((await res.json()) as { error: string }).error, /camera id must match/);
    }
  });

  it('gives the keys to a registered camera only, and to others only while enrolment is open', async () => {
    const { base, file, events } = await load();
    const ok = await fetch(`${base}/hivecam/cert/cam-a`);
    assert.equal(ok.status, 200, 'cam-a is in the settings');
    const bundle = (await ok.json()) as Record<string, string>;
    assert.deepEqual(Object.keys(bundle).sort(), ['caCert', 'clientCert', 'clientKey']);
    assert.match(bundle.clientKey!, /BEGIN PRIVATE KEY/);

    const stranger = await fetch(`${base}/hivecam/cert/cam-new`);
    assert.equal(stranger.status, 403);
    assert.match(((await stranger.json()) as { error: string }).error, /not registered and enrolment is closed/);

    const opened = await command('enrolment', { minutes: 5 });
    assert.equal(opened.payload.open, true);
    assert.equal((await fetch(`${base}/hivecam/cert/cam-new`)).status, 200, 'enrols while the window is open');
    await command('enrolment', { minutes: 0 });
    assert.equal((await fetch(`${base}/hivecam/cert/cam-new`)).status, 200, 'stays registered after the window closed');
    assert.equal((await fetch(`${base}/hivecam/cert/cam-late`)).status, 403, 'a camera after the window is refused');

    const registered = await rows<{ camera_id: string; registered_by: string; cert_requests: number }>(
      file,
      'SELECT camera_id, registered_by, cert_requests FROM gateway_cameras ORDER BY camera_id',
    );
    assert.deepEqual(registered, [
      { camera_id: 'cam-a', registered_by: 'admin', cert_requests: 1 },
      { camera_id: 'cam-new', registered_by: 'enrolment', cert_requests: 2 },
    ]);
    assert.ok(events.msgs.some((m) => m.topic === 'certificate' && m.payload.cameraId === 'cam-new' && m.payload.via === 'enrolment'));
  });

  it('registers and unregisters cameras by command, and refuses bad commands', async () => {
    const { base } = await load({ cameras: '' });
    assert.equal((await fetch(`${base}/hivecam/cert/cam-b`)).status, 403);
    assert.equal((await command('register', { cameraId: 'cam-b' })).statusCode, 200);
    assert.equal((await fetch(`${base}/hivecam/cert/cam-b`)).status, 200);
    const listed = await command('cameras');
    assert.deepEqual(
      listed.payload.registered.map((c: { cameraId: string }) => c.cameraId),
      ['cam-b'],
    );
    assert.equal((await command('unregister', { cameraId: 'cam-b' })).payload.removed, true);
    assert.equal((await fetch(`${base}/hivecam/cert/cam-b`)).status, 403);

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
    const res = await fetch(`${base}/hivecam/cert/cam-a`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /certificates are not set up/);
    await until('logged with the fix', () => warnings.map(text).find((w) => /npm run certs/.test(w)));
  });

  it('blocks a client that keeps failing, with Retry-After', async () => {
    const { base } = await load();
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${base}/hivecam/cert/guess-${i}`)).status, 403);
    const blocked = await fetch(`${base}/hivecam/cert/cam-a`);
    assert.equal(blocked.status, 429, 'even a good request waits out the block');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
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
    ['an absolute path', () => rawZip([{ name: '/etc/evil.jpg', data: JPEG }]), 422, /absolute/],
    ['a symlink', () => rawZip([{ name: 'link.jpg', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), 422, /symlink/],
    ['a zip bomb', () => rawZip([{ name: 'bomb.mp4', data: Buffer.alloc(900_000), deflate: true }]), 413, /ratio/],
    ['too many files', () => rawZip(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.jpg`, data: JPEG }))), 413, /too-many-files/],
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
    assert.match(bad.payload.error, /the JPEG bytes/);
    assert.equal((await command('snapshot', { deviceId: 'picam-1', image: JPEG })).statusCode, 400, 'no event, nothing to attach it to');
  });

  it('stops the ffmpeg that is turning a recording into HLS when it is redeployed', async () => {
    // An ffmpeg that answers -version and otherwise hangs, telling us its pid.
    const pidFile = join(dir, 'ffmpeg.pid');
    const fake = join(dir, 'slow-ffmpeg');
    writeFileSync(fake, `#!/bin/sh\n[ "$1" = "-version" ] && exit 0\necho $$ > ${pidFile}\nexec sleep 60\n`, { mode: 0o755 });
    const { base } = await load({ ffmpeg: fake });
    assert.equal((await upload(base, rawZip([{ name: 'clip.mp4', data: randomBytes(2000) }]))).status, 200);
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
    await assert.rejects(fetch(`${base}/hivecam/cam-a`), 'the port is closed');
  });
});

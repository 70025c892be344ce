/**
 * The recorder node with a real stream (issue 19): a real Node-RED runtime, a real SQLite store, a
 * real RTSP camera (GStreamer's RTSP server, Digest login, key frame every second) and the node's
 * own ffmpeg. What a user would notice: segments appear on disk and in the index with times that
 * match the clock; an event's clip (with its pre-roll and post-roll) is ready with the right
 * length and decodes; /api/recordings answers range requests and refuses bad input with a reason;
 * the camera's password is never on a command line; no ffmpeg is left after a redeploy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import databaseNode from '../../../nodes/picam-database/picam-database';
import recorderNode from '../../../nodes/recorder/recorder';
import {
  CLIP_READY_TOPIC,
  type ClipReadyPayload,
  type RecordingTimeline,
  type RecordingUsage,
} from '../../../nodes/lib/contract/recordings';
import type { ActivityRecord } from '../../../nodes/lib/types';
import { EventStore } from '../../../nodes/lib/store/store';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { httpNodeServer } from '../../support/http-node';
import { Collector, helper, node } from '../../support/node-helper';
import { isAlive, parentOf } from '../../support/processes';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

const CAMERA = 'picam-1';
const PASSWORD = 'rec-s3cret-pw';
/** the test camera's key-frame interval (key-int-max=10 at 10 fps) */
const KEYFRAME_MS = 1000;
const http = httpNodeServer('');

/** Running ffmpeg processes of this test (pid and command line). */
function ffmpegs(): Array<{ pid: number; cmd: string }> {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => {
      try {
        return { pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') };
      } catch {
        return { pid: 0, cmd: '' };
      }
    })
    .filter((p) => p.cmd.startsWith('ffmpeg') && p.cmd.includes('-segment_list') && parentOf(p.pid) === process.pid);
}

function probeSeconds(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('the recorder recording a real RTSP camera', { skip }, () => {
  const camera = new RtspCamera({ password: PASSWORD });
  const dir = tempDir('recorder-');
  const root = join(dir, 'recordings');
  let base = '';
  let clips: Collector;
  let store: EventStore;
  const statuses: string[] = [];

  before(async () => {
    await camera.start();
    // One flow for the whole file: the tests follow one recording (useNodeRed would unload it after each).
    await helper.startServer();
    await helper.load(
      [databaseNode, recorderNode, http.expose],
      [
        { id: 'db', type: 'picam-database', file: join(dir, 'events.db'), maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
        {
          id: 'rec',
          type: 'recorder',
          database: 'db',
          dir: root,
          sources: `${CAMERA}=${camera.url('main')}`,
          mode: 'events',
          preRollSeconds: 2,
          postRollSeconds: 2,
          segmentSeconds: 1,
          freePercent: 0,
          freeGB: 0,
          wires: [['clips'], ['alerts']],
        },
        { id: 'clips', type: 'helper' },
        { id: 'alerts', type: 'helper' },
      ],
      { rec: { rtspUser: camera.user, rtspPassword: PASSWORD } },
    );
    clips = new Collector('clips');
    node('rec').on('call:status', (c: { args: Array<{ text?: string }> }) => statuses.push(c.args[0]?.text ?? ''));
    base = new URL((await http.fetch('/api/recordings/')).url).origin;
    await waitFor('the index open', async () => ((await fetch(`${base}/api/recordings/`)).ok ? true : undefined));
    // A second store on the same file, read-only use: what the index holds.
    store = await EventStore.open({ file: join(dir, 'events.db') });
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await store?.close();
    await camera.stop();
  });

  const api = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });

  it('writes segments to disk and the index, with times that match the clock, and keeps the login off the command line', async () => {
    const t0 = Date.now();
    const rows = await waitFor(
      'three segments indexed',
      async () => {
        const r = await store.recordings().segments(CAMERA, t0 - 60_000, Date.now() + 60_000);
        return r.length >= 3 ? r : undefined;
      },
      30_000,
    );
    const now = Date.now();
    for (const r of rows) {
      assert.ok(existsSync(join(root, r.file)), `${r.file} is on disk`);
      assert.equal(statSync(join(root, r.file)).size, r.bytes);
      assert.ok(r.file.startsWith(`${CAMERA}/`), r.file);
      assert.ok(r.endMs > r.startMs && r.endMs <= now + 500, `segment ${r.startMs}-${r.endMs} ends by now (${now})`);
      assert.ok(r.startMs > t0 - 30_000, 'and started after the node did');
    }
    // Consecutive segments follow each other on the time line (within a frame or two).
    for (let i = 1; i < rows.length; i++) assert.ok(Math.abs(rows[i]!.startMs - rows[i - 1]!.endMs) < 250, 'no gap, no overlap');
    // Each segment's recorded length (ffprobe) is its index length.
    const last = rows.at(-1)!;
    assert.ok(Math.abs(probeSeconds(join(root, last.file)) * 1000 - (last.endMs - last.startMs)) < 300, 'index length = file length');
    await waitFor('the status saying so', async () =>
      statuses.some((t) => /^1 of 1 camera recording · \d+ MB$/.test(t)) ? true : undefined,
    );
    const running = ffmpegs();
    assert.equal(running.length, 1, 'one segmenter');
    assert.ok(!running[0]!.cmd.includes(PASSWORD) && !running[0]!.cmd.includes(encodeURIComponent(PASSWORD)), running[0]!.cmd);
  });

  it("cuts an event's clip with its pre-roll and post-roll, within a key-frame interval, and it decodes", async () => {
    const startMs = Date.now();
    const base_ = { deviceId: CAMERA, deviceType: 'picam', eventId: 'evt-1', activityType: 'MOTION' };
    // A camera the recorder does not record (a VBC01 uploads its own video): its events get no clip.
    const vbc = { ...base_, deviceId: 'ABCDEF0123456789ABCDEF0123456789', deviceType: 'hive-cam', eventId: 'vbc-1' };
    node('rec').receive({
      topic: 'records',
      payload: [
        { ...base_, kind: 'activity-start', timeMs: startMs } satisfies ActivityRecord,
        { ...vbc, kind: 'activity-start', timeMs: startMs },
      ],
    });
    await new Promise((r) => setTimeout(r, 3000));
    // While the event runs, its clip is what there is so far.
    const growing = await api(`/api/recordings/${CAMERA}/clips/evt-1`);
    assert.equal(growing.status, 200, await growing.clone().text());
    assert.equal(growing.headers.get('content-type'), 'video/mp4');
    assert.equal((await store.recordings().clip(CAMERA, 'evt-1'))?.state, 'recording');
    const endMs = Date.now();
    node('rec').receive({ payload: { ...base_, kind: 'activity-stop', timeMs: endMs, startMs } satisfies ActivityRecord });
    const msg = await clips.first(40_000);
    assert.equal(msg.topic, CLIP_READY_TOPIC);
    const clip = msg.payload as ClipReadyPayload;
    assert.equal(clip.state, 'ready');
    assert.equal(clip.url, `/api/recordings/${CAMERA}/clips/evt-1`);
    const wanted = endMs + 2000 - (startMs - 2000);
    const seconds = probeSeconds(clip.file!);
    assert.ok(Math.abs(seconds * 1000 - wanted) <= KEYFRAME_MS + 100, `clip ${seconds} s for ${wanted / 1000} s of event and rolls`);
    assert.equal(clip.bytes, statSync(clip.file!).size);
    assert.ok(Math.abs(clip.durationMs! - seconds * 1000) < 2);
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', clip.file!, '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decode.status, 0, decode.stderr);
    assert.equal(decode.stderr.trim(), '', 'no decoding errors');
    // The index has it, and the time line shows it.
    const row = await store.recordings().clip(CAMERA, 'evt-1');
    assert.equal(row?.state, 'ready');
    assert.equal(await store.recordings().clip(vbc.deviceId, 'vbc-1'), undefined, 'no clip for a camera not recorded');
  });

  it('serves the clip as video/mp4 with range requests (206, 416) and refuses bad input with a reason', async () => {
    const full = await api(`/api/recordings/${CAMERA}/clips/evt-1`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'video/mp4');
    assert.equal(full.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    const size = (await full.arrayBuffer()).byteLength;
    const part = await api(`/api/recordings/${CAMERA}/clips/evt-1`, { Range: 'bytes=0-99' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 0-99/${size}`);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    const beyond = await api(`/api/recordings/${CAMERA}/clips/evt-1`, { Range: `bytes=${size + 10}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);

    const reasons: Array<[string, number, RegExp]> = [
      ['/api/recordings/bad%20id', 400, /camera id/],
      [`/api/recordings/${CAMERA}?from=abc`, 400, /Unix milliseconds/],
      [`/api/recordings/${CAMERA}?from=2000&to=1000`, 400, /must not be after/],
      [`/api/recordings/${CAMERA}?from=0&to=${3 * 86_400_000}`, 400, /at most 48 h/],
      [`/api/recordings/${CAMERA}/video?start=1000`, 400, /end= is required/],
      [`/api/recordings/${CAMERA}/video?start=0&end=${2 * 3_600_000}`, 400, /at most 1 h/],
      [`/api/recordings/${CAMERA}/video?start=1000&end=2000`, 404, /no recording/],
      [`/api/recordings/${CAMERA}/clips/nope`, 404, /no clip/],
      ['/api/recordings/other-cam', 404, /no recordings here/],
    ];
    for (const [path, status, reason] of reasons) {
      const res = await api(path);
      const body = (await res.json()) as { error: string };
      assert.equal(res.status, status, `${path}: ${body.error}`);
      assert.match(body.error, reason, path);
    }
  });

  it('refuses a clip whose index row points outside the recordings folder (403), serving nothing', async () => {
    for (const [i, file] of ['../../../../../etc/passwd', '/etc/passwd', `${CAMERA}/../../outside.mp4`].entries()) {
      await store.recordings().finishClip({
        cameraId: CAMERA,
        eventId: `evil-${i}`,
        state: 'ready',
        startMs: 1,
        endMs: 2,
        durationMs: 1,
        bytes: 10,
        file,
        reason: null,
      });
      const res = await api(`/api/recordings/${CAMERA}/clips/evil-${i}`);
      const body = await res.text();
      assert.equal(res.status, 403, body);
      assert.match(body, /not inside the recordings folder/);
      assert.doesNotMatch(body, /root:/);
    }
  });

  it('gives the time line, the MP4 of a time range, and the disk use per camera', async () => {
    const now = Date.now();
    const tl = (await (await api(`/api/recordings/${CAMERA}?from=${now - 120_000}&to=${now}`)).json()) as RecordingTimeline;
    assert.equal(tl.mode, 'events');
    assert.ok(tl.segments.length >= 1);
    const from = tl.segments[0]!.startMs;
    const to = Math.min(from + 3000, tl.segments.at(-1)!.endMs);
    const video = await api(`/api/recordings/${CAMERA}/video?start=${from}&end=${to}`);
    assert.equal(video.status, 200, await video.clone().text());
    assert.equal(video.headers.get('content-type'), 'video/mp4');
    assert.ok((await video.arrayBuffer()).byteLength > 1000);
    const usage = (await (await api('/api/recordings/')).json()) as RecordingUsage;
    const cam = usage.cameras.find((c) => c.cameraId === CAMERA);
    assert.ok(cam && cam.segmentBytes > 0 && cam.clipBytes > 0, JSON.stringify(usage));
    assert.ok(usage.disk.totalBytes > 0 && usage.disk.freeBytes > 0);
  });

  it('in events mode deletes segments no clip needs, older than the pre-roll', async () => {
    const cutoff = Date.now();
    await waitFor(
      'old segments gone',
      async () => {
        const old = await store.recordings().segments(CAMERA, 0, cutoff - 8000);
        return old.length === 0 ? true : undefined;
      },
      20_000,
    );
    const clip = await store.recordings().clip(CAMERA, 'evt-1');
    assert.ok(existsSync(join(root, clip!.file!)), 'the clip stays');
  });

  it('leaves no ffmpeg running after a redeploy, and the segment it finished as it stopped is in the index', async () => {
    const pids = ffmpegs().map((p) => p.pid);
    assert.equal(pids.length, 1);
    await helper.unload();
    assert.deepEqual(
      pids.filter((p) => isAlive(p)),
      [],
    );
    assert.deepEqual(ffmpegs(), []);
    // The database node stops at the same moment as the recorder, but stays open until the recorder has indexed it.
    const onDisk = readdirSync(join(root, CAMERA)).filter((f) => f.endsWith('.ts'));
    const indexed = new Set((await store.recordings().segments(CAMERA, 0, Date.now() + 60_000)).map((r) => r.file));
    assert.deepEqual(
      onDisk.filter((f) => !indexed.has(`${CAMERA}/${f}`)),
      [],
      'every segment file on disk is indexed',
    );
  });
});

describe('the recorder with a wrong camera login', { skip }, () => {
  const camera = new RtspCamera({ password: PASSWORD });
  const dir = tempDir('recorder-login-');
  const WRONG = 'wrong-s3cret-pw';

  before(async () => {
    await camera.start();
    await helper.startServer();
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await camera.stop();
  });

  it('says why in its status and log (the camera answered 401), never the password, and retries', async () => {
    await helper.load(
      [databaseNode, recorderNode],
      [
        { id: 'db', type: 'picam-database', file: join(dir, 'events.db'), maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
        {
          id: 'rec',
          type: 'recorder',
          database: 'db',
          dir: join(dir, 'recordings'),
          sources: `${CAMERA}=rtsp://${camera.user}:${WRONG}@127.0.0.1:${camera.port}/main`,
          wires: [[], []],
        },
      ],
    );
    const warnings: string[] = [];
    const statuses: string[] = [];
    node('rec').on('call:warn', (c: { args: unknown[] }) => warnings.push(String(c.args[0])));
    node('rec').on('call:status', (c: { args: Array<{ text?: string }> }) => statuses.push(c.args[0]?.text ?? ''));
    await waitFor(
      'a warning with the reason',
      async () => (warnings.some((w) => /wrong user or password/.test(w)) ? true : undefined),
      30_000,
    );
    await waitFor('the status with it', async () => (statuses.some((s) => /wrong user or password/.test(s)) ? true : undefined), 30_000);
    const said = [...warnings, ...statuses].join('\n');
    assert.match(said, /127\.0\.0\.1:\d+\/main/, 'names where');
    assert.match(said, /again in [\d.]+ s/, 'and that it retries');
    assert.ok(!said.includes(WRONG), said);
  });
});

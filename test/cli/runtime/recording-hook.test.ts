/**
 * MediaMTX's recordings in the recorder's index (issue 19): a real cloud runtime with the shipped
 * flow, its 127.0.0.1-only listener taking `runOnRecordSegmentComplete` posts as cloud/mediamtx.yml
 * sends them (curl's form fields), with a real MPEG-TS segment made by ffmpeg. The segment is
 * listed by the API behind the API login; a segment outside the recordings folder, a bad path or
 * duration, or a camera whose mode is off is refused with a reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordingTimeline, RecordingUsage } from '../../../nodes/lib/contract/recordings';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { API_AUTH, cloudRoleEnv } from '../../support/cli';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

describe("MediaMTX's segment hook on the internal listener", { skip: skipWithoutFfmpeg }, () => {
  const dir = tempDir('rec-hook-');
  const recordings = join(dir, 'recordings');
  let runtime: RunningRuntime;

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort(), internal: await freePort() };
    const env = cloudRoleEnv(dir, ports, {
      PICAM_ROLE: 'cloud',
      PICAM_RECORD_DIR: recordings,
      PICAM_RECORD_MODE: 'off',
      PICAM_RECORD_MODES: 'mtx-cam=continuous',
    });
    runtime = await startRuntime(settingsFor(env));
    await waitFor('the recorder open', async () =>
      (await fetch(`${runtime.url}/api/recordings/`, { headers: { authorization: API_AUTH } })).ok ? true : undefined,
    );
  });
  after(() => runtime?.stop());

  /** A 2-second MPEG-TS segment as MediaMTX writes one (recordFormat: mpegts). */
  function segmentFile(path: string): string {
    mkdirSync(join(path, '..'), { recursive: true });
    const r = spawnSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=10',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-g',
      '10',
      '-f',
      'mpegts',
      path,
    ]);
    assert.equal(r.status, 0, r.stderr?.toString());
    return path;
  }

  /** What the hook's curl sends: form fields. */
  const post = (fields: Record<string, string>) =>
    fetch(`${runtime.internalUrl}/mediamtx/segment`, { method: 'POST', body: new URLSearchParams(fields) });

  it('indexes a finished segment, listed by the API behind its login', async () => {
    const file = segmentFile(join(recordings, 'mtx-cam', 'mtx-2026-12-06_10-00-00-000000.ts'));
    const before = Date.now();
    const res = await post({ path: 'mtx-cam', file, duration: '2.0' });
    assert.equal(res.status, 204, await res.text());
    const url = `${runtime.url}/api/recordings/mtx-cam?from=${before - 60_000}&to=${Date.now() + 1000}`;
    assert.equal((await fetch(url)).status, 401, 'the API login is required');
    const timeline = (await (await fetch(url, { headers: { authorization: API_AUTH } })).json()) as RecordingTimeline;
    assert.equal(timeline.mode, 'continuous');
    assert.equal(timeline.segments.length, 1);
    const s = timeline.segments[0]!;
    assert.ok(Math.abs(s.endMs - s.startMs - 2000) < 5 && s.endMs >= before, JSON.stringify(s));
    const usage = (await (
      await fetch(`${runtime.url}/api/recordings/`, { headers: { authorization: API_AUTH } })
    ).json()) as RecordingUsage;
    assert.ok(usage.cameras.some((c) => c.cameraId === 'mtx-cam' && c.segmentBytes === s.bytes && s.bytes > 0));
    // The same segment posted again (the hook retried) is indexed once.
    assert.equal((await post({ path: 'mtx-cam', file, duration: '2.0' })).status, 204);
    const again = (await (await fetch(url, { headers: { authorization: API_AUTH } })).json()) as RecordingTimeline;
    assert.equal(again.segments.length, 1);
    // The disk use per camera and the counters on /metrics.
    const metrics = await waitFor('the recorder on /metrics', async () => {
      const text = await (await fetch(`${runtime.url}/metrics`, { headers: { authorization: API_AUTH } })).text();
      return text.includes(`picam_recording_bytes{camera="mtx-cam",kind="segments"} ${s.bytes}`) ? text : undefined;
    });
    assert.match(metrics, /^picam_recording_segments_total 1$/m);
    assert.match(metrics, /^picam_recording_disk_free_bytes [1-9]\d*$/m);
    assert.match(metrics, /^picam_recording_storage_low 0$/m);
    // And the video of that time plays back from it.
    const video = await fetch(`${runtime.url}/api/recordings/mtx-cam/video?start=${s.startMs}&end=${s.endMs}`, {
      headers: { authorization: API_AUTH },
    });
    assert.equal(video.status, 200);
    assert.equal(video.headers.get('content-type'), 'video/mp4');
  });

  it('refuses what it cannot index, with the reason', async () => {
    const outside = join(dir, 'elsewhere.ts');
    writeFileSync(outside, 'not a recording');
    const good = segmentFile(join(recordings, 'mtx-cam', 'mtx-2.ts'));
    const cases: Array<[Record<string, string>, number, RegExp]> = [
      [{ path: 'mtx-cam', file: outside, duration: '2' }, 400, /not inside the recordings folder/],
      [{ path: 'mtx-cam', file: join(recordings, '..', 'elsewhere.ts'), duration: '2' }, 400, /not inside the recordings folder/],
      [{ path: 'mtx-cam', file: join(recordings, 'mtx-cam', 'missing.ts'), duration: '2' }, 400, /does not exist/],
      [{ path: 'bad path!', file: good, duration: '2' }, 400, /camera id/],
      [{ path: 'mtx-cam', file: 'relative.ts', duration: '2' }, 400, /absolute path/],
      [{ path: 'mtx-cam', file: good, duration: 'soon' }, 400, /duration/],
      [{ path: 'other-cam', file: good, duration: '2' }, 400, /mode off/],
    ];
    for (const [fields, status, reason] of cases) {
      const res = await post(fields);
      const body = (await res.json()) as { error: string };
      assert.equal(res.status, status, `${JSON.stringify(fields)}: ${body.error}`);
      assert.match(body.error, reason);
    }
  });

  it('is not served on the public port', async () => {
    const res = await fetch(`${runtime.url}/mediamtx/segment`, { method: 'POST', body: new URLSearchParams({ path: 'mtx-cam' }) });
    assert.equal(res.status, 404);
  });
});

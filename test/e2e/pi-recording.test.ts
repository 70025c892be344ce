/**
 * End to end (issue 19, "a Pi whose uplink is down keeps recording locally and the clips arrive
 * later"): the Pi role (flows/pi.json: the test-pattern camera, its local tap, the Pi's recorder)
 * starts while its cloud is not there at all (no broker, no HTTP). Its motion event gets a clip cut
 * on the Pi. Then the cloud role starts: the event arrives from the Pi's outbox, and the clip from
 * the Pi's recorder; the cloud stores it as the event's clip, plays it from the API like its own,
 * and the Pi marks it sent. Forged clips (a text file, an HLS playlist, a fake MP4, a body too big,
 * no login, no such event) are refused with a reason and leave nothing behind; a clip the cloud
 * refused is not offered again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { freeUdpPort } from '../../cli/runtime/rtsp-sink';
import { ClipUploader } from '../../nodes/lib/recording/clip-upload';
import { EventStore } from '../../nodes/lib/store/store';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const ID = 'picam-rec';
const TOKEN = randomBytes(24).toString('hex');
/** the flow's camera: a key frame every 2 s; the longest clip here 10 s (the test pattern moves all the time) */
const MAX_CLIP_S = 10;
const KEYFRAME_S = 2;

let pi: CliProcess | undefined;
let cloud: CliProcess | undefined;

after(async () => {
  await pi?.stop();
  await cloud?.stop();
});

function probeSeconds(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

interface ClipRow {
  eventId: string;
  state: string;
  file: string | null;
  durationMs: number | null;
  bytes: number | null;
  uploadState: string | null;
  uploadReason: string | null;
  attempts: number;
}

const CLIPS = `SELECT event_id AS eventId, state, file, duration_ms AS durationMs, bytes, upload_state AS uploadState,
  upload_reason AS uploadReason, upload_attempts AS attempts FROM recording_clips WHERE camera_id = ?`;

async function clipsIn(file: string, cameraId = ID): Promise<ClipRow[] | undefined> {
  try {
    return await rows<ClipRow>(file, CLIPS, [cameraId]);
  } catch {
    return undefined; // not created yet
  }
}

describe('a Pi recording through an uplink outage', { skip: skipWithoutFfmpeg }, () => {
  const piDir = tempDir('picam-pi-rec-');
  const cloudDir = tempDir('picam-cloud-rec-');
  let ports: { http: number; mqtt: number; ws: number };
  let base = '';
  let eventId = '';

  it('cuts the clip of an event raised while the uplink is down, and the cloud has it as the event clip once the uplink is back', async () => {
    ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    base = `http://127.0.0.1:${ports.http}`;
    pi = startCli(
      ['start', '--role', 'pi'],
      cloudRoleEnv(
        piDir,
        { http: await freePort(), mqtt: ports.mqtt, ws: await freePort() },
        {
          PICAM_MQTT_HOST: '127.0.0.1',
          PICAM_DEVICE_ID: ID,
          PICAM_SENSEHAT_BACKEND: 'simulated',
          PICAM_SENSEHAT_LED: 'simulated',
          PICAM_CAMERA_SOURCE: 'testsrc',
          // Nothing listens there either: the stream to the cloud fails like the rest of the uplink.
          PICAM_RTSP_URL: `rtsp://127.0.0.1:${await freePort()}/${ID}`,
          PICAM_PI_RECORD_UDP: `udp://127.0.0.1:${await freeUdpPort()}`,
          PICAM_CLOUD_URL: base,
          PICAM_CLOUD_API_TOKEN: TOKEN,
          PICAM_RECORD_PRE_ROLL_SECONDS: '2',
          PICAM_RECORD_POST_ROLL_SECONDS: '2',
          PICAM_RECORD_MAX_CLIP_SECONDS: String(MAX_CLIP_S),
          PICAM_RECORD_SEGMENT_SECONDS: '1',
        },
      ),
    );
    const piDb = join(piDir, 'pi-recordings.db');
    const local = await waitFor(
      'a clip cut on the Pi while its cloud is unreachable',
      async () => (await clipsIn(piDb))?.find((c) => c.state === 'ready'),
      120_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${pi!.output()}`));
    eventId = local.eventId;
    const localFile = join(piDir, 'pi-recordings', local.file!);
    assert.ok(existsSync(localFile), 'the clip is on the Pi');
    const localSeconds = probeSeconds(localFile);
    // At most the longest clip (and a key frame before it); less when the recording began after the pre-roll
    // did (the camera and the recorder start together) or the loaded machine dropped some of the local copy.
    assert.ok(localSeconds > 1 && localSeconds <= MAX_CLIP_S + KEYFRAME_S, `local clip ${localSeconds} s`);
    assert.ok(Math.abs(local.durationMs! - localSeconds * 1000) < 100, 'the index has its length');
    assert.equal(local.uploadState, null, 'not sent: there is no cloud yet');

    cloud = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(cloudDir, ports, {
        PICAM_API_TOKENS: `pi:${createHash('sha256').update(TOKEN).digest('hex')}`,
        PICAM_RECORD_SOURCES: '',
      }),
    );
    const cloudDb = join(cloudDir, 'picam-guardian.db');
    const arrived = await waitFor(
      "the Pi's clip stored in the cloud as the event's clip",
      async () => (await clipsIn(cloudDb))?.find((c) => c.eventId === eventId && c.state === 'ready'),
      180_000,
    ).catch((err: Error) => assert.fail(`${err.message}\nPi:\n${pi!.output()}\nCloud:\n${cloud!.output()}`));
    assert.equal(arrived.bytes, local.bytes, 'the same clip');
    const events = await rows<{ eventId: string }>(cloudDb, 'SELECT event_id AS eventId FROM activity_events WHERE camera_id = ?', [ID]);
    assert.ok(
      events.some((e) => e.eventId === eventId),
      'linked to the event the Pi raised, which the cloud stored',
    );

    // Played from the API as the dashboard plays it: a real MP4 of the right length.
    const res = await fetch(`${base}/api/recordings/${ID}/clips/${eventId}`, { headers: { Authorization: API_AUTH } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    const got = join(cloudDir, 'got.mp4');
    writeFileSync(got, Buffer.from(await res.arrayBuffer()));
    const seconds = probeSeconds(got);
    assert.ok(Math.abs(seconds - localSeconds) < 0.1, `cloud clip ${seconds} s, Pi clip ${localSeconds} s`);
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', got, '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decode.status, 0, decode.stderr);
    // The dashboard's time line shows the event with its clip.
    const now = Date.now();
    const line = await fetch(`${base}/api/recordings/${ID}?from=${now - 3_600_000}&to=${now}`, { headers: { Authorization: API_AUTH } });
    const timeline = (await line.json()) as { events: Array<{ eventId: string; clip: { state: string; url: string } | null }> };
    const shown = timeline.events.find((e) => e.eventId === eventId);
    assert.equal(shown?.clip?.state, 'ready', JSON.stringify(timeline));
    assert.equal(shown?.clip?.url, `/api/recordings/${ID}/clips/${eventId}`);

    const settled = await waitFor('the Pi marking the clip sent', async () =>
      (await clipsIn(piDb))?.find((c) => c.eventId === eventId && c.uploadState === 'sent'),
    );
    assert.equal(settled.attempts, 1, 'sent once');
  });

  it('does not send a clip the cloud already has (asked first, never posted)', async () => {
    assert.ok(eventId, 'the event of the test above');
    const dir = tempDir('picam-pi-again-');
    const store = await EventStore.open({ file: join(dir, 'pi.db') });
    try {
      // A second Pi index naming the same event, as after a restore from a backup: its file is not even readable.
      const t = Date.now() - 60_000;
      const recordings = store.recordings();
      await recordings.finishClip(
        {
          cameraId: ID,
          eventId,
          state: 'ready',
          startMs: t,
          endMs: t + 5000,
          durationMs: 5000,
          bytes: 1,
          file: `${ID}/clips/gone.mp4`,
          reason: null,
        },
        t,
      );
      const uploader = new ClipUploader({
        root: join(dir, 'rec'),
        store: recordings,
        cloudUrl: base,
        token: TOKEN,
        settleMs: 0,
        log: () => undefined,
        warn: () => undefined,
        changed: () => undefined,
      });
      await uploader.pass();
      assert.deepEqual(await recordings.uploadOf(ID, eventId), {
        state: 'sent',
        reason: 'the cloud already has a clip of this event',
        attempts: 1,
      });
      assert.deepEqual(uploader.counters, { sent: 0, refused: 0, alreadyThere: 1 });
      await uploader.close();
    } finally {
      await store.close();
    }
  });

  describe('bad clips', () => {
    const FORGER = 'forger-1';
    const FORGED_EVENT = 'forged-evt-1';
    const post = (
      body: Buffer | string,
      query = `?start=${Date.now() - 10_000}&end=${Date.now()}`,
      eventId = FORGED_EVENT,
      auth = API_AUTH,
    ) =>
      fetch(`${base}/api/recordings/${FORGER}/clips/${eventId}${query}`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'video/mp4' },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
    const incoming = () =>
      existsSync(join(cloudDir, 'recordings', '.incoming')) ? readdirSync(join(cloudDir, 'recordings', '.incoming')) : [];

    it('an event of another camera, stored in the cloud without a clip', async () => {
      assert.ok(cloud, 'the cloud runs (the test above)');
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId: FORGER, reconnectPeriod: 0 });
      await client.publishAsync(
        `prod/device/message/picam/${FORGER}/activity/start`,
        JSON.stringify({ eventId: FORGED_EVENT, activityType: 'MOTION', timestamp: Math.round(Date.now() / 1000) }),
        { qos: 1 },
      );
      await client.endAsync();
      await waitFor('the event stored', async () =>
        (await rows(join(cloudDir, 'picam-guardian.db'), 'SELECT 1 FROM activity_events WHERE event_id = ?', [FORGED_EVENT])).length
          ? true
          : undefined,
      );
    });

    for (const [what, body, status, reason] of [
      ['a text file', 'just some text, no video\n', 415, /must be an MP4; this is .*text/],
      ['an HLS playlist naming a file of the server', '#EXTM3U\n#EXTINF:2.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n', 415, /must be an MP4/],
      [
        'an "MP4" that is only its first box',
        Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(12), Buffer.from('garbage'.repeat(100))]),
        422,
        /not a readable MP4|no video|no duration/,
      ],
    ] as const) {
      it(`refuses ${what} with ${status} and the reason, and keeps nothing`, async () => {
        const res = await post(body);
        assert.equal(res.status, status);
        assert.match(((await res.json()) as { error: string }).error, reason);
        assert.deepEqual(incoming(), [], 'nothing left behind');
        const clip = await fetch(`${base}/api/recordings/${FORGER}/clips/${FORGED_EVENT}`, { headers: { Authorization: API_AUTH } });
        assert.equal(clip.status, 404, 'the event still has no clip');
      });
    }

    it('refuses a clip without its times (400), for an event the cloud does not have (409, try later), not sent as video/mp4 (415), and without a login (401)', async () => {
      const noTimes = await post('x', '');
      assert.equal(noTimes.status, 400);
      assert.match(((await noTimes.json()) as { error: string }).error, /\?(start|end)= is required/);
      const unknown = await post('x', undefined, 'no-such-event');
      assert.equal(unknown.status, 409);
      assert.match(((await unknown.json()) as { error: string }).error, /not in the store yet/);
      const asText = await fetch(`${base}/api/recordings/${FORGER}/clips/${FORGED_EVENT}?start=1&end=2`, {
        method: 'POST',
        headers: { Authorization: API_AUTH, 'Content-Type': 'text/plain' },
        body: 'not a clip',
      });
      assert.equal(asText.status, 415);
      assert.match(((await asText.json()) as { error: string }).error, /Content-Type: video\/mp4/);
      const anonymous = await post('x', undefined, FORGED_EVENT, 'Bearer wrong-token');
      assert.equal(anonymous.status, 401);
    });

    it('refuses a body larger than a clip can be (413) before storing it', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${base}/api/recordings/${FORGER}/clips/${FORGED_EVENT}?start=1&end=2`,
          { method: 'POST', headers: { Authorization: API_AUTH, 'Content-Type': 'video/mp4', 'Content-Length': String(50 * 1024 ** 3) } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
            req.destroy();
          },
        );
        req.on('error', reject);
        req.write(Buffer.alloc(1024));
      });
      assert.equal(status, 413);
      assert.deepEqual(incoming(), []);
    });

    it("a clip the cloud refuses is marked so on the Pi, with the cloud's reason, and never offered again", async () => {
      const dir = tempDir('picam-pi-forged-');
      const store = await EventStore.open({ file: join(dir, 'pi.db') });
      try {
        mkdirSync(join(dir, 'rec', FORGER, 'clips'), { recursive: true });
        writeFileSync(join(dir, 'rec', FORGER, 'clips', 'forged.mp4'), '#EXTM3U\n#EXTINF:2.0,\nfile:///etc/passwd\n');
        const recordings = store.recordings();
        const t = Date.now() - 60_000;
        await recordings.finishClip(
          {
            cameraId: FORGER,
            eventId: FORGED_EVENT,
            state: 'ready',
            startMs: t,
            endMs: t + 5000,
            durationMs: 5000,
            bytes: 40,
            file: `${FORGER}/clips/forged.mp4`,
            reason: null,
          },
          t,
        );
        const warnings: string[] = [];
        const uploader = new ClipUploader({
          root: join(dir, 'rec'),
          store: recordings,
          cloudUrl: base,
          token: TOKEN,
          settleMs: 0,
          log: () => undefined,
          warn: (w) => warnings.push(w),
          changed: () => undefined,
        });
        await uploader.pass();
        const first = await recordings.uploadOf(FORGER, FORGED_EVENT);
        assert.equal(first?.state, 'refused');
        assert.match(first?.reason ?? '', /^415 .*must be an MP4/);
        assert.match(warnings.join('\n'), /refused .* not sent again/);
        await uploader.pass();
        assert.equal((await recordings.uploadOf(FORGER, FORGED_EVENT))?.attempts, 1, 'offered once');
        assert.equal(uploader.counters.refused, 1);
        await uploader.close();
      } finally {
        await store.close();
      }
    });
  });
});

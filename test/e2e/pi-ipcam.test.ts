/**
 * End to end: an IP camera on the Pi's LAN. A real RTSP camera (GStreamer) that
 * only the Pi is told about (PICAM_IPCAM_*); the Pi runtime (flows/pi.json) runs it
 * and reports it through its outbox to a cloud runtime (flows/cloud.json, its
 * embedded broker with the per-device rules). The cloud lists it as `{pi}.{camera}`
 * with its state, motion events and thumbnails; what the camera says while the cloud
 * is down waits in the Pi's outbox; a mode set in the cloud reaches the Pi's ipcam and
 * not the Pi's own camera.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_AUTH, cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { RtspCamera, skipWithoutGstRtsp } from '../support/rtsp-camera';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;
const PI = 'pi-lan';
const HOSTED = `${PI}.door`;

interface Camera {
  camera_id: string;
  device_type: string | null;
  camera_name: string | null;
  status: string | null;
  connection_status: string | null;
}

let cloud: CliProcess | undefined;
let pi: CliProcess | undefined;
const camera = new RtspCamera({ password: 'lan-cam-pw' });
let base = '';
let startCloud: () => CliProcess;
const cloudDir = tempDir('picam-ipcam-cloud-');
const piDir = tempDir('picam-ipcam-pi-');

const api = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH } });
async function listed(id: string): Promise<Camera | undefined> {
  const res = await api('/api/cameras').catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { cameras: Camera[] }).cameras.find((c) => c.camera_id === id);
}

/** Whether an ffmpeg reading a camera script publishes to the path `path` (the Pi's relay of a hosted camera). */
function relayRunning(path: string): boolean {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .some((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        return cmd.includes('-f concat') && cmd.includes(`/${path} `);
      } catch {
        return false; // gone meanwhile
      }
    });
}

const cloudUp = () =>
  waitFor('the cloud API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);

before(async () => {
  if (skip) return;
  await camera.start();
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  base = `http://127.0.0.1:${ports.http}`;
  const cloudEnv = cloudRoleEnv(cloudDir, { ...ports, internal: await freePort() });
  startCloud = () => startCli(['start', '--role', 'cloud'], cloudEnv);
  cloud = startCloud();
  await cloudUp();
  pi = startCli(
    ['start', '--role', 'pi'],
    cloudRoleEnv(
      piDir,
      { http: await freePort(), mqtt: ports.mqtt, ws: await freePort() },
      {
        PICAM_MQTT_HOST: '127.0.0.1',
        PICAM_DEVICE_ID: PI,
        PICAM_SENSEHAT_BACKEND: 'simulated',
        PICAM_SENSEHAT_LED: 'simulated',
        // The Pi's own camera publishes nowhere here (no receiver): only its IP camera matters.
        PICAM_CAMERA_SOURCE: 'testsrc',
        PICAM_RTSP_URL: `rtsp://127.0.0.1:${await freePort()}/${PI}`,
        PICAM_IPCAM_ID: 'door',
        PICAM_IPCAM_SUB_URL: camera.url('sub'),
        PICAM_IPCAM_MAIN_URL: camera.url('main'),
        PICAM_IPCAM_USER: camera.user,
        PICAM_IPCAM_PASSWORD: camera.password,
      },
    ),
  );
});

after(async () => {
  const piCode = await pi?.stop();
  const cloudCode = await cloud?.stop();
  await camera.stop();
  if (pi) assert.equal(piCode, 0, `the Pi runtime stops cleanly:\n${pi.output()}`);
  if (cloud) assert.equal(cloudCode, 0, `the cloud runtime stops cleanly:\n${cloud.output()}`);
});

describe("an IP camera on the Pi's LAN, shown by the cloud", { skip }, () => {
  it('is listed in /api/cameras as {pi}.{camera}, connected, with motion events and their thumbnails', async () => {
    const cam = await waitFor(
      'the hosted camera connected in the cloud',
      async () => {
        const c = await listed(HOSTED);
        return c?.connection_status === 'connected' ? c : undefined;
      },
      90_000,
    );
    assert.equal(cam.device_type, 'ipcam');
    let lastEvents: unknown[] = [];
    const event = await waitFor(
      'a motion event with its thumbnail',
      async () => {
        const res = await api(`/api/events?camera=${HOSTED}`);
        if (!res.ok) return undefined;
        const { events } = (await res.json()) as { events: Array<{ event_id: string; has_thumbnail: boolean }> };
        lastEvents = events;
        return events.find((e) => e.has_thumbnail);
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; events: ${JSON.stringify(lastEvents)}\nPi:\n${pi!.output()}\ncloud:\n${cloud!.output()}`);
    });
    const thumb = await api(`/api/media/thumbnail/${encodeURIComponent(event.event_id)}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    assert.ok(!pi!.output().includes(camera.password), 'the camera password is in no log line of the Pi');
  });

  it("keeps the camera's messages in the Pi's outbox while the cloud is away, and delivers them when it is back", async () => {
    assert.equal(await cloud!.stop(), 0, `the cloud runtime stops cleanly:\n${cloud!.output()}`);
    // The camera goes away meanwhile: the Pi's ipcam says so, and the outbox keeps it.
    await camera.stop();
    const topic = `prod/device/connection/ipcam/${PI}/door`;
    await waitFor(
      "the camera's disconnection held on the Pi",
      async () => {
        const got = await rows<{ topic: string; payload: Buffer }>(
          join(piDir, 'pi-outbox.db'),
          'SELECT topic, payload FROM outbox ORDER BY seq',
        ).catch(() => []);
        // Only connection messages are parsed: the outbox also holds thumbnails (JPEG bytes).
        const statuses = got.filter((r) => r.topic === topic).map((r) => (JSON.parse(r.payload.toString()) as { status: string }).status);
        return statuses.includes('disconnected') ? true : undefined;
      },
      60_000,
    );
    cloud = startCloud();
    await cloudUp();
    await camera.start();
    // Stored by the cloud although it was down when the camera went: the outbox delivered it.
    await waitFor('the held disconnection stored in the cloud', async () => {
      const got = await rows(
        join(cloudDir, 'picam-guardian.db'),
        "SELECT status FROM status_events WHERE camera_id = ? AND status = 'disconnected'",
        [HOSTED],
      ).catch(() => []);
      return got.length > 0 ? true : undefined;
    });
    await waitFor(
      'the camera back, connected',
      async () => ((await listed(HOSTED))?.connection_status === 'connected' ? true : undefined),
      90_000,
    );
  });

  it('asks the Pi to relay the hosted camera on POST /api/control/live/{pi}.{camera}, and refuses it for a camera no Pi hosts', async () => {
    const refused = await api(`/api/control/live/${PI}`, { method: 'POST' });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /live is for a camera hosted by a Pi/);
    const res = await fetch(`${base}/api/control/live/${HOSTED}`, {
      method: 'POST',
      headers: { authorization: API_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ seconds: 5 }),
    });
    assert.equal(res.status, 202);
    const { data } = (await res.json()) as { data: { requestId: string } };
    const sent = await waitFor('the live request sent', async () => {
      const r = await api(`/api/commands/${data.requestId}`);
      const { command } = (await r.json()) as { command?: { state: string; topic: string; expiresAt: string; createdAt?: string } };
      return command?.state === 'sent' ? command : undefined;
    });
    assert.equal(sent.topic, `prod/honeycomb/${PI}/ipcam/door/stream/play`);
    // The Pi's ipcam took it for its camera: its relay's ffmpeg runs (publishing to nobody here: no MediaMTX).
    await waitFor('the relay started on the Pi', async () => (relayRunning(`${PI}.door`) ? true : undefined));
    assert.doesNotMatch(pi!.output(), /ipcam[^\n]*(no camera|no live video)/);
  });

  it("obeys a mode set in the cloud on the Pi, leaving the Pi's own camera's mode alone", async () => {
    await waitFor('the Pi itself listed', async () => ((await listed(PI))?.status === 'ARMED' ? true : undefined), 60_000);
    const res = await api(`/api/control/mode/${HOSTED}/PRIVACY`, { method: 'POST' });
    assert.equal(res.status, 202);
    const { data } = (await res.json()) as { data: { requestId: string } };
    // Sent to the Pi, which is connected: the command's record does not say "not connected".
    const sent = await waitFor('the command sent', async () => {
      const r = await api(`/api/commands/${data.requestId}`);
      const { command } = (await r.json()) as { command?: { state: string; reason: string | null; topic: string } };
      return command?.state === 'sent' ? command : undefined;
    });
    assert.equal(sent.topic, `prod/honeycomb/${PI}/ipcam/door/system/setmode`);
    assert.equal(sent.reason, null);
    await waitFor(
      'the hosted camera reports PRIVACY',
      async () => ((await listed(HOSTED))?.status === 'PRIVACY' ? true : undefined),
      60_000,
    );
    assert.equal((await listed(PI))?.status, 'ARMED', "the Pi's own camera stays armed");
    assert.doesNotMatch(pi!.output(), /ipcam[^\n]*no camera/, 'the command reached the right camera');
    assert.doesNotMatch(cloud!.output(), /ipcam[^\n]*no camera/, "the cloud's own ipcam node was not asked");
  });
});

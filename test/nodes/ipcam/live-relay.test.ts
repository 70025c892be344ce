/**
 * Live video of a camera hosted by a Pi, relayed by the Pi on request: the ipcam
 * node as the Pi flow runs it (host, relay URL, no API) against a real RTSP camera
 * (GStreamer) and a real RTSP server receiving the relay (ffmpeg listening, as
 * MediaMTX would). On the cloud's `live` command the camera's main stream reaches
 * the server at `{pi}.{camera}`; with no new request for `seconds` the relay stops;
 * in PRIVACY it stops and a request is refused; a redeploy leaves no ffmpeg.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { LiveRelay, readLiveInput, relayUrl, type LiveRelayState } from '../../../nodes/ipcam/live-relay';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { freePort } from '../../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { RtspReceiver } from '../../support/rtsp-receiver';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;
const PLAY = 'prod/honeycomb/pi-1/ipcam/door/stream/play';

useNodeRed();

/** The command lines of this process's relay children (ffmpeg reading a camera script and publishing to `path`). */
function relays(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      // stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its closing parenthesis.
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid !== process.pid) continue;
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone meanwhile
    }
    if (cmd.includes('-f concat') && cmd.includes(`/${path} `)) found.push(cmd);
  }
  return found;
}

describe('ipcam on a Pi: live video relayed on request', { skip }, () => {
  it('relays the main stream to {pi}.{camera} on request, stops after `seconds` without one, never in PRIVACY, none left at close', async () => {
    const camera = new RtspCamera({ password: 'door-cam-pw' });
    await camera.start();
    const port = await freePort();
    const receiver = new RtspReceiver({ port, path: 'pi-1.door', dir: tempDir('pi-relay-') });
    receiver.start();
    try {
      await receiver.waitListening();
      await helper.load(
        [ipcamNode],
        [
          {
            id: 'ipc',
            type: 'ipcam',
            name: 'Door',
            deviceId: 'door',
            host: 'pi-1',
            apiPath: 'off',
            mainUrl: camera.url('main'),
            subUrl: camera.url('sub'),
            relayUrl: `rtsp://127.0.0.1:${port}/pi-1`,
            wires: [[], [], []],
          },
        ],
        { ipc: { user: camera.user, password: camera.password, relayUser: 'pi-1', relayPassword: 'pi-publish-pw' } },
      );
      const errors = spy('ipc', 'error');
      const statuses = spy('ipc', 'status');
      const statusText = () => statuses.map((s) => String((s.args[0] as { text?: string }).text ?? ''));

      // The camera is started after the flow is (the node's first turn): the status says so.
      await waitFor('the camera started', async () => (statuses.length > 0 ? true : undefined));
      node('ipc').receive({ topic: PLAY, payload: { seconds: 5, requestId: 'r1' } });
      await receiver.waitForFrames(10, 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; errors: ${errors.map(text).join(' | ')}; status: ${statusText().join(' | ')}`);
      });
      assert.deepEqual(receiver.files.length, 1);
      await waitFor('relaying live on the status', async () =>
        statusText().some((t) => t.startsWith('relaying live')) ? true : undefined,
      );
      const cmdline = relays('pi-1.door');
      assert.equal(cmdline.length, 1, 'one relay');
      assert.ok(!cmdline[0]!.includes(camera.password), "the camera's password is not on the relay's command line");
      assert.ok(cmdline[0]!.includes('-c:v copy'), 'copied, not re-encoded');

      // Nobody asks again: the relay ends by itself after its 5 s.
      await waitFor('the relay stopped after its seconds', async () => (relays('pi-1.door').length === 0 ? true : undefined), 30_000);
      await waitFor('the status no longer relaying', async () => (statusText().at(-1)!.startsWith('relaying live') ? undefined : true));

      // Asked again, it starts again; PRIVACY stops it, and a request in PRIVACY is refused with the reason.
      node('ipc').receive({ topic: PLAY, payload: { seconds: 60 } });
      await waitFor('the relay back', async () => (relays('pi-1.door').length === 1 ? true : undefined), 30_000);
      node('ipc').receive({ topic: 'prod/honeycomb/pi-1/ipcam/door/system/setmode', payload: { mode: 'PRIVACY' } });
      await waitFor('the relay stopped in PRIVACY', async () => (relays('pi-1.door').length === 0 ? true : undefined), 30_000);
      node('ipc').receive({ topic: PLAY, payload: { seconds: 60 } });
      const refused = await waitFor('the request refused', async () => errors.find((e) => /PRIVACY/.test(text(e))));
      assert.match(text(refused), /no live video: camera "door" is in PRIVACY/);
      assert.equal(relays('pi-1.door').length, 0);

      // Back to ARMED and watched: a redeploy (close) leaves no relay behind.
      node('ipc').receive({ topic: 'prod/honeycomb/pi-1/ipcam/door/system/setmode', payload: { mode: 'ARMED' } });
      node('ipc').receive({ topic: PLAY, payload: { seconds: 60 } });
      await waitFor('the relay running', async () => (relays('pi-1.door').length === 1 ? true : undefined), 30_000);
      await helper.unload();
      assert.deepEqual(relays('pi-1.door'), []);
    } finally {
      await receiver.stop();
      await camera.stop();
    }
  });

  it('retries with backoff while the server is away, saying why without the login, and relays once it is back', async () => {
    const camera = new RtspCamera({ password: 'door-cam-pw' });
    await camera.start();
    const port = await freePort();
    const receiver = new RtspReceiver({ port, path: 'pi-1.door', dir: tempDir('pi-relay-back-') });
    const states: LiveRelayState[] = [];
    const relay = new LiveRelay(
      {
        input: { url: camera.url('main'), transport: 'tcp', username: camera.user, password: camera.password },
        target: { url: `rtsp://127.0.0.1:${port}/pi-1.door`, username: 'pi-1', password: 'pi-publish-pw' },
        ffmpegPath: 'ffmpeg',
        backoff: { baseMs: 200, maxMs: 1000 },
      },
      { state: (st) => states.push(st) },
    );
    try {
      relay.request(60);
      const retrying = await waitFor('a retry', async () => states.find((st) => st.state === 'retrying'), 30_000);
      assert.match(retrying.error ?? '', /^the relay exited with code/);
      for (const st of states) assert.ok(!JSON.stringify(st).includes('pi-publish-pw') && !JSON.stringify(st).includes(camera.password));
      receiver.start();
      await receiver.waitForFrames(10, 30_000);
      await waitFor('relaying', async () => (relay.state.state === 'relaying' ? true : undefined));
    } finally {
      await relay.close();
      assert.deepEqual(relays('pi-1.door'), [], 'no relay left after close');
      await receiver.stop();
      await camera.stop();
    }
  });

  it('refuses bad seconds with the reason, and a relay URL that is not rtsp://', async () => {
    await helper.load(
      [ipcamNode],
      [
        {
          id: 'ipc',
          type: 'ipcam',
          deviceId: 'door',
          host: 'pi-1',
          apiPath: 'off',
          subUrl: `rtsp://127.0.0.1:${await freePort()}/sub`,
          relayUrl: 'http://cloud/pi-1',
          wires: [['mqtt'], [], []],
        },
        { id: 'mqtt', type: 'helper' },
      ],
    );
    const errors = spy('ipc', 'error');
    const warnings = spy('ipc', 'warn');
    node('ipc').receive({ topic: PLAY, payload: { seconds: 60 } });
    const bad = await waitFor('the input refused', async () => errors[0]);
    assert.match(text(bad), /no live video: the relay URL must start with rtsp:\/\//);
    node('ipc').receive({ topic: PLAY, payload: { seconds: 2 } });
    const tooShort = await waitFor('bad seconds refused', async () => errors[1]);
    assert.match(text(tooShort), /seconds must be a whole number from 5 to 600 \(got 2\)/);
    // The camera itself still runs (only its live video is lost): its mode is obeyed.
    const mqtt = new Collector('mqtt');
    node('ipc').receive({ topic: 'prod/honeycomb/pi-1/ipcam/door/system/setmode', payload: { mode: 'PRIVACY' } });
    await until('PRIVACY reported', () => mqtt.msgs.find((m) => m.topic.endsWith('/camera/state') && m.payload.mode === 'PRIVACY'));
    assert.equal(errors.length, 2, errors.map(text).join(' | '));
    assert.match(text(warnings[0]!), /no live relay: the relay URL must start with rtsp:\/\//);
  });
});

describe('live relay requests and URLs', () => {
  it('reads the seconds of a request, and refuses what is out of bounds', () => {
    assert.deepEqual(readLiveInput({ topic: PLAY, payload: { seconds: 30 } }), { seconds: 30 });
    assert.deepEqual(readLiveInput({ topic: 'live', payload: {} }), { seconds: 60 });
    assert.match((readLiveInput({ topic: PLAY, payload: { seconds: 1 } }) as { invalid: string }).invalid, /from 5 to 600/);
    assert.equal(readLiveInput({ topic: 'prod/honeycomb/pi-1/ipcam/door/system/setmode', payload: {} }), undefined);
  });

  it("replaces the last segment of the Pi's own publish URL by the hosted camera's path", () => {
    assert.equal(relayUrl('rtsp://cams.example.org:8554/pi-1', 'pi-1.door'), 'rtsp://cams.example.org:8554/pi-1.door');
    assert.throws(() => relayUrl('rtsp://pi:pw@cams.example.org:8554/pi-1', 'pi-1.door'), /not in the relay URL/);
  });
});

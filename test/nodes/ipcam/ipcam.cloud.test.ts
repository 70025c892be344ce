/**
 * An IP camera through the cloud's own path: ipcam → mqtt-processor (default
 * device types) → sqlite-events. It appears in the camera registry as an
 * `ipcam` with its state, its motion raises an alert whose thumbnail goes to the alert
 * nodes as its picture (as a Pi's), and a camera that goes away raises one
 * `camera-offline` alert after the grace period and one `camera-online` when
 * it is back (the processor's existing alert path).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, until, useNodeRed } from '../../support/node-helper';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

useNodeRed();

describe('an IP camera in the cloud', { skip }, () => {
  const camera = new RtspCamera();
  before(() => camera.start());
  after(() => camera.stop());

  it('is registered as an ipcam, raises motion alerts with their picture, and camera-offline once after the grace period and camera-online once', async () => {
    const dir = tempDir('picam-ipcam-cloud-');
    helper.settings({ userDir: dir });
    await helper.load(
      [databaseNode, ipcamNode, processorNode, eventsNode],
      [
        { id: 'db', type: 'picam-database', file: join(dir, 'events.db'), maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
        {
          id: 'ipc',
          type: 'ipcam',
          name: 'Gate',
          deviceId: 'gate-1',
          subUrl: camera.url('sub'),
          heartbeatSeconds: 1,
          stallSeconds: 5,
          wires: [['proc'], [], []],
        },
        { id: 'proc', type: 'mqtt-processor', prefix: 'prod', debounceSeconds: 2, database: 'db', wires: [['store'], ['alerts'], [], []] },
        { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [] },
        { id: 'q', type: 'sqlite-events', database: 'db', mode: 'query', query: 'cameras', wires: [['answers']] },
        { id: 'alerts', type: 'helper' },
        { id: 'answers', type: 'helper' },
      ],
      { ipc: { user: camera.user, password: camera.password } },
    );
    const alerts = new Collector('alerts');
    const answers = new Collector('answers');
    const registry = async () => {
      const before = answers.msgs.length;
      node('q').receive({ payload: {} });
      await answers.wait(before + 1, 5000);
      return (answers.msgs.at(-1)!.payload.cameras as Array<Record<string, unknown>>).find((c) => c.camera_id === 'gate-1');
    };
    const kinds = () => alerts.msgs.map((m) => m.payload.kind as string);

    // The registry is read through the query node: asked again until the connection is stored
    // (a bound on waiting, not a speed: at three test files at a time it once took over 30 s).
    let row: Record<string, unknown> | undefined;
    const deadline = Date.now() + 90_000;
    while ((row = await registry())?.connection_status !== 'connected' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 300));
    assert.equal(row?.device_type, 'ipcam');
    assert.equal(row?.camera_name, 'Gate');
    assert.equal(row?.connection_status, 'connected');

    // The moving pattern: a motion alert, and the event's thumbnail handed to the alert nodes as its
    // picture (what Telegram and the other alert nodes attach), as for a Pi.
    const motion = await until(
      'a motion alert',
      () => alerts.msgs.find((m) => m.payload.kind === 'activity' && m.payload.deviceId === 'gate-1'),
      60_000,
    );
    assert.equal(motion.payload.deviceName, 'Gate');
    assert.match(motion.payload.text, /motion detected on Gate/);
    const picture = await until(
      "the motion event's picture",
      () => alerts.msgs.find((m) => m.payload.kind === 'snapshot' && m.payload.eventId === motion.payload.eventId),
      30_000,
    );
    assert.equal(picture.payload.deviceId, 'gate-1');
    assert.deepEqual([...(picture.payload.image as Buffer).subarray(0, 2)], [0xff, 0xd8], 'a JPEG');

    const before = kinds().filter((k) => k === 'camera-online').length;
    await camera.kill();
    await until('camera-offline', () => kinds().includes('camera-offline'), 30_000);
    await camera.start();
    await until('camera-online', () => kinds().filter((k) => k === 'camera-online').length > before, 60_000);
    assert.deepEqual(
      kinds()
        .filter((k) => k.startsWith('camera-o'))
        .slice(before),
      ['camera-offline', 'camera-online'],
      'one alert each way',
    );
  });
});

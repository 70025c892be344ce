/**
 * Live video for an IP camera: the ipcam node gives MediaMTX (a fake that
 * checks every body against MediaMTX's OpenAPI PathConf) an on-demand path
 * named by the camera id that pulls the main stream over TCP; applies it again
 * at every start (MediaMTX's API does not persist); removes it in PRIVACY.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import serverNode from '../../../nodes/mediamtx-server/mediamtx-server';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { FakeMediamtx } from '../../support/fake-mediamtx';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

useNodeRed();

describe('ipcam live video through MediaMTX', { skip }, () => {
  const camera = new RtspCamera();
  let fake: FakeMediamtx;
  before(async () => {
    await camera.start();
    fake = await FakeMediamtx.start({ username: 'api', password: 'api-pw' });
  });
  after(async () => {
    await camera.stop();
    await fake.close();
  });
  afterEach(() => assert.deepEqual(fake.contractErrors, []));

  async function load() {
    await helper.load(
      [serverNode, ipcamNode],
      [
        { id: 'mtx', type: 'mediamtx-server', apiUrl: fake.url, timeoutSeconds: 6 },
        {
          id: 'ipc',
          type: 'ipcam',
          name: 'Porch',
          deviceId: 'porch-1',
          mainUrl: camera.url('main'),
          subUrl: camera.url('sub'),
          mediamtx: 'mtx',
          wires: [[], [], []],
        },
      ],
      { mtx: { user: 'api', password: 'api-pw' }, ipc: { user: camera.user, password: camera.password } },
    );
    return { warns: spy('ipc', 'warn') };
  }

  it('adds an on-demand path pulling the main stream over TCP, removes it in PRIVACY, and applies it again at start', async () => {
    const { warns } = await load();
    const conf = await until('the path', () => fake.configs.get('porch-1'), 10_000);
    assert.equal(conf.sourceOnDemand, true);
    assert.equal(conf.rtspTransport, 'tcp');
    const source = new URL(String(conf.source));
    assert.equal(`${source.host}${source.pathname}`, `127.0.0.1:${camera.port}/main`);
    assert.equal(decodeURIComponent(source.password), camera.password, 'MediaMTX gets the login to pull the camera');

    node('ipc').receive({ topic: 'mode', payload: 'PRIVACY' });
    await until('path removed in PRIVACY', () => !fake.configs.has('porch-1'), 10_000);
    node('ipc').receive({ topic: 'mode', payload: 'ARMED' });
    await until('path back', () => fake.configs.has('porch-1'), 10_000);

    await helper.unload();
    fake.configs.clear(); // MediaMTX restarted: the API's paths are gone
    await load();
    await until('path applied again at start', () => fake.configs.has('porch-1'), 10_000);
    assert.ok(!warns.some((w) => text(w).includes(camera.password)));
  });
});

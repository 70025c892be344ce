/**
 * The ipcam node's figures on the runtime's /metrics (cli/runtime/ops.ts), served
 * over HTTP, with ipcam nodes in a real Node-RED runtime: cameras configured and
 * connected, failed checks, motion events (here from the camera's ONVIF events,
 * through the fake ONVIF camera), and, with a real RTSP camera (GStreamer's RTSP
 * server), frames analysed and MJPEG viewers.
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import express from 'express';
import { Ops } from '../../../cli/runtime/ops';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { FakeOnvif } from '../../support/fake-onvif';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { MjpegClient } from '../../support/mjpeg-client';
import { freePort } from '../../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { helper, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

let metricsServer: Server | undefined;
async function metrics(): Promise<Record<string, number>> {
  if (!metricsServer) {
    const app = express();
    app.get('/metrics', new Ops({ role: 'pi', flowsStarted: () => true }).metrics);
    metricsServer = createServer(app);
    await new Promise<void>((ok) => metricsServer!.listen(0, '127.0.0.1', ok));
  }
  const res = await fetch(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`);
  assert.equal(res.status, 200);
  const figures: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^(picam_ipcam_\w+) (\d+)$/.exec(line);
    if (m) figures[m[1]!] = Number(m[2]);
  }
  return figures;
}

let httpNode: RequestListener | undefined;
const exposeHttpNode = (RED: { httpNode: RequestListener }) => void (httpNode = RED.httpNode);
let apiServer: Server | undefined;
async function apiBase(): Promise<string> {
  if (!apiServer) {
    apiServer = createServer((req, res) => httpNode!(req, res));
    await new Promise<void>((ok) => apiServer!.listen(0, '127.0.0.1', ok));
  }
  return `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
}
after(() => {
  metricsServer?.close();
  apiServer?.close();
});

// The node's id differs from its camera's: Node-RED takes a property equal to a node id for a reference.
const ipcam = (id: string, props: Record<string, unknown>) => ({
  id: `node-${id}`,
  type: 'ipcam',
  name: id,
  deviceId: id,
  apiPath: `/test/${id}`,
  wires: [[], [], []],
  ...props,
});

describe('ipcam figures on /metrics', () => {
  it('counts cameras, failed checks and motion events, summed over the ipcam nodes', async () => {
    const before = await metrics();
    assert.equal(before.picam_ipcam_cameras, 0);
    const onvif = new FakeOnvif({ username: 'admin', password: 'pw', profiles: [] });
    await onvif.start();
    try {
      const deadRtsp = `rtsp://127.0.0.1:${await freePort()}/sub`;
      await helper.load(
        [ipcamNode],
        [
          ipcam('cam-a', { subUrl: deadRtsp, onvif: `127.0.0.1:${onvif.port}`, motionSource: 'onvif' }),
          ipcam('cam-b', { subUrl: deadRtsp }),
        ],
        { 'node-cam-a': { user: 'admin', password: 'pw' } },
      );
      await until('the ONVIF subscription', () => onvif.subscriptions === 1, 15_000);
      onvif.motion(true);
      onvif.motion(false);
      let now: Record<string, number> = {};
      const end = Date.now() + 30_000;
      while (!((now = await metrics()).picam_ipcam_motion_events_total === 1 && now.picam_ipcam_checks_failed_total! >= 2)) {
        if (Date.now() > end) throw new Error(`metrics never matched: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(now.picam_ipcam_cameras, 2);
      assert.equal(now.picam_ipcam_cameras_connected, 0);
      assert.equal(now.picam_ipcam_mjpeg_viewers, 0);
      assert.equal(now.picam_ipcam_frames_analysed_total, 0);
      await helper.unload();
      // A closed node's figures leave /metrics with it.
      assert.equal((await metrics()).picam_ipcam_cameras, 0);
    } finally {
      await onvif.close();
    }
  });

  it(
    'counts frames analysed, connected cameras and MJPEG viewers of a streaming camera',
    { skip: skipWithoutFfmpeg || skipWithoutGstRtsp },
    async () => {
      const camera = new RtspCamera({ pattern: 'moving' });
      await camera.start();
      const viewer = new MjpegClient();
      try {
        await helper.load([ipcamNode, exposeHttpNode], [ipcam('cam-c', { subUrl: camera.url('sub') })], {
          'node-cam-c': { user: camera.user, password: camera.password },
        });
        let now: Record<string, number> = {};
        const wait = async (ok: (f: Record<string, number>) => boolean) => {
          const end = Date.now() + 30_000;
          while (!ok((now = await metrics()))) {
            if (Date.now() > end) throw new Error(`metrics never matched: ${JSON.stringify(now)}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        };
        await wait((f) => f.picam_ipcam_cameras_connected === 1 && f.picam_ipcam_frames_analysed_total! > 0);
        await viewer.open(`${await apiBase()}/test/cam-c/cam-c/mjpeg`);
        await wait((f) => f.picam_ipcam_mjpeg_viewers === 1);
      } finally {
        viewer.close();
        await helper.unload();
        await camera.stop();
      }
    },
  );
});

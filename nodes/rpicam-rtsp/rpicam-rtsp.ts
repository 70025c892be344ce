/**
 * rpicam-rtsp: the Pi camera (or a USB webcam, or ffmpeg's test pattern)
 * pushed to an RTSP server such as MediaMTX, supervised, obeying the camera
 * mode, with snapshots, an MJPEG preview and motion events like a VBC01's.
 *   output 1: stream status   output 2: activity start/stop and thumbnails
 *   output 3: snapshots
 */
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter, type StatusLevel } from '../lib/status';
import type { CameraMode } from '../lib/types';
import { Camera } from '../lib/camera/camera';
import { readCameraInput } from '../lib/camera/inputs';
import { streamConfig, type RpicamRtspDef } from './settings';

interface Credentials {
  user?: string;
  password?: string;
}

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

const LOOK: Record<string, StatusLevel> = { starting: 'busy', streaming: 'ok', stalled: 'warn', 'backing-off': 'warn', stopped: 'warn' };

export default function register(RED: NodeAPI): void {
  function RpicamRtsp(this: Node & { credentials?: Credentials }, def: RpicamRtspDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    let config: ReturnType<typeof streamConfig>;
    try {
      // The scene source's pictures ship beside this file (tsup copies scene/ into dist/).
      config = streamConfig(def, node.credentials ?? {}, join(__dirname, 'scene'));
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 90));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`rpicam-rtsp: ${(err as Error).message}`)));
      return;
    }

    const out = (i: 0 | 1 | 2, msg: NodeMessage) => {
      const msgs: Array<NodeMessage | null> = [null, null, null];
      msgs[i] = msg;
      node.send(msgs);
    };
    const camera: Camera = new Camera(config.camera, {
      state: (stats, mode) => {
        const detail =
          stats.state === 'streaming'
            ? `${stats.fps} fps, ${Math.round(stats.bitrateKbps)} kbit/s${detectorText(camera)}`
            : (stats.lastError ?? '');
        status.now(
          LOOK[stats.state] ?? 'busy',
          `${mode === 'PRIVACY' ? 'privacy: camera off' : stats.state}${detail ? ` · ${detail}` : ''}`.slice(0, 90),
        );
        out(0, { topic: 'status', payload: { ...stats, mode, ...detectorStats(camera) } });
      },
      activity: (kind, payload) => out(1, { topic: `activity/${kind}`, payload }),
      thumbnail: (eventId, jpeg) => out(1, { topic: `activity/thumbnail/${eventId}`, payload: jpeg, eventId } as NodeMessage),
      snapshot: (jpeg, requestId) => out(2, { topic: 'snapshot', payload: jpeg, requestId, timeMs: Date.now() } as NodeMessage),
      problem: (message) => node.warn(message),
    });

    // The periodic status keeps the heartbeat's stream state and the stats fresh between changes.
    const statsTimer = setInterval(() => {
      if (camera.stats) out(0, { topic: 'status', payload: { ...camera.stats, mode: camera.currentMode, ...detectorStats(camera) } });
      if (camera.detectorStats && camera.stats?.state === 'streaming') {
        const s = camera.stats;
        status.soon(() => ['ok', `streaming · ${s.fps} fps, ${Math.round(s.bitrateKbps)} kbit/s${detectorText(camera)}`.slice(0, 90)]);
      }
    }, config.statsEveryMs);

    const previewPath = config.previewPath;
    if (previewPath) {
      RED.httpNode.get(previewPath, (req: Request, res: Response) => {
        if (!camera.preview.addViewer(res)) return; // the broadcaster answered 503
        node.log(`preview viewer from ${req.ip}`);
      });
    }

    if (camera.currentMode === 'PRIVACY') status.now('warn', 'privacy: camera off');
    else if (config.autoStart) camera.start();
    else status.now('warn', 'stopped (send "start")');

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const input = readCameraInput(msg);
      if (input.type === 'invalid') {
        done(new Error(`rpicam-rtsp: ${input.reason}`));
        return;
      }
      const run = async () => {
        switch (input.type) {
          case 'start':
            camera.start();
            break;
          case 'stop':
            await camera.stop();
            status.now('warn', 'stopped');
            break;
          case 'restart':
            await camera.restart();
            break;
          case 'mode':
            await camera.setMode(input.mode as CameraMode);
            if (input.mode === 'PRIVACY') status.now('warn', 'privacy: camera off');
            break;
          case 'zones':
            // The cloud re-sends the dashboard's zones whenever the camera connects (mqtt-processor).
            camera.setZones(input.zones);
            node.log(`masks and zones: ${input.zones.length} polygon(s)`);
            break;
          case 'snapshot': {
            const picture = await camera.snapshot(input.requestId);
            if (!picture) throw new Error('no picture: the camera is not streaming (see its status)');
            break;
          }
        }
      };
      run().then(
        () => done(),
        (err: Error) => done(err),
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(statsTimer);
      if (previewPath) removeRoute(RED, previewPath);
      camera.close().then(
        () => {
          status.clear();
          done();
        },
        (err: Error) => {
          node.error(`stopping the stream: ${err.message}`);
          done();
        },
      );
    });
  }
  RED.nodes.registerType('rpicam-rtsp', RpicamRtsp as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

/** The status badge's detector part: how far behind it is and what it dropped ("" when off). */
function detectorText(camera: Camera | undefined): string {
  const d = camera?.detectorStats;
  if (!d) return '';
  const behind = d.behindMs >= 1000 ? `${(d.behindMs / 1000).toFixed(1)} s behind` : 'up to date';
  return ` · detector ${behind}${d.dropped ? `, ${d.dropped} dropped` : ''}`;
}

function detectorStats(camera: Camera | undefined): { detector?: Camera['detectorStats'] } {
  return camera?.detectorStats ? { detector: camera.detectorStats } : {};
}

/** Express has no "remove route": take it out of the router's stack, as Node-RED's http in node does. */
function removeRoute(RED: NodeAPI, path: string): void {
  const router = (
    RED.httpNode as unknown as { _router?: { stack: Array<{ route?: { path?: string; methods?: Record<string, boolean> } }> } }
  )._router;
  if (!router) return;
  router.stack = router.stack.filter((layer) => !(layer.route?.path === path && layer.route.methods?.get));
}

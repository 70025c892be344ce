/**
 * vbc01-live: live video from VBC01 cameras, on demand (issue 17). Owns the RTP/WHEP bridge
 * and the camera side over MQTT: a browser's WHEP offer for camera X opens one bridge stream
 * for X (shared by every viewer) and sends X `stream/play`, keepalives, and `stream/stop`
 * when the last viewer has left. A camera named in `rtspSources` is instead copied from its
 * RTSP stream by a supervised ffmpeg while anyone watches (where no MediaMTX runs).
 *   input:    command-sender's reports (output 2): a delivered stream/play moves the camera from
 *             "asking" to "waiting for video"; {topic: "stop", deviceId} stops a camera's stream
 *   output 1: MQTT commands (stream/play, keepalive, stop) for command-sender
 *   output 2: each camera's live state when it changes
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { mountRouter } from '../lib/mount-router';
import { LIVE_ROUTES_ROOT } from '../lib/contract/api-routes';
import { useDatabase } from '../lib/database-user';
import type { LiveStream, LiveStreamOptions } from '../lib/live/bridge-types';
import { exposeCounters } from '../lib/metrics';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter, type StatusLevel } from '../lib/status';
import type { EventStore } from '../lib/store/store';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { VBC01_DEVICE_TYPE } from '../lib/vbc01';
import { bridgeFactory } from './bridge';
import { driverFactory } from './drivers';
import type { SessionSnapshot } from './camera-session';
import { LiveCameras, type CameraCheck } from './live-cameras';
import { liveConfig, type Vbc01LiveCredentials, type Vbc01LiveDef } from './settings';
import { streamTokenCheck } from './viewer-access';
import { whepRouter } from './whep-api';

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

const STATE_WORDS: Record<SessionSnapshot['state'], string> = {
  asking: 'asking the camera',
  waiting: 'waiting for video',
  playing: 'playing',
  stalled: 'video stalled',
  failed: 'failed',
  stopped: 'stopped',
};

function summary(streams: SessionSnapshot[]): [StatusLevel, string] {
  if (streams.length === 0) return ['ok', 'idle'];
  if (streams.length === 1) {
    const s = streams[0]!;
    const viewers = s.stats?.viewers ?? 0;
    return [s.state === 'playing' ? 'ok' : 'busy', `${s.cameraId.slice(0, 12)}: ${STATE_WORDS[s.state]} · ${viewers} watching`];
  }
  const viewers = streams.reduce((n, s) => n + (s.stats?.viewers ?? 0), 0);
  return ['ok', `${streams.length} streams · ${viewers} watching`];
}

/** command-sender's output 2: {topic: "command/sent"|"command/expired"|"command/failed", payload: {id, deviceId, action, reason}} */
interface CommandReport {
  id?: unknown;
  deviceId?: unknown;
  action?: unknown;
  reason?: unknown;
}

/** The numeric counters of a stream's stats (for /metrics). */
function numbers(stats: object | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(stats ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

export default function register(RED: NodeAPI): void {
  function Vbc01Live(this: Node, def: Vbc01LiveDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    let config: ReturnType<typeof liveConfig>;
    try {
      config = liveConfig(def, (node as Node & { credentials?: Vbc01LiveCredentials }).credentials);
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 100));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`vbc01-live: ${(err as Error).message}`)));
      return;
    }
    const settings = RED.settings as unknown as Record<string, unknown>;
    const bridge = bridgeFactory(settings)(config.bridge);
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    if (def.database && !db) node.warn('the database config node is missing: every camera id is accepted');

    const cameras: LiveCameras = new LiveCameras({
      rembStartBps: config.rembStartBps,
      rembFloorBps: config.rembFloorBps,
      timings: config.timings,
      open: (opts: LiveStreamOptions): Promise<LiveStream> => bridge.open(opts),
      driver: driverFactory(config, {
        publish: (msg) => node.send([msg as unknown as NodeMessage, null]),
        log: (line) => node.log(line),
      }),
      check: (id) => knownCamera(id),
      changed: (snapshot) => {
        node.send([null, { topic: 'live/state', deviceId: snapshot.cameraId, payload: snapshot } as NodeMessage]);
        if (snapshot.state === 'failed') node.warn(`camera ${snapshot.cameraId}: ${snapshot.reason ?? 'failed'}`);
        status.soon(() => summary(cameras.running()));
      },
    });

    const database = useDatabase<EventStore, Send>({
      node,
      database: db,
      status,
      ready: () => status.soon(() => summary(cameras.running())),
      close: async () => {
        unmount();
        unexpose();
        await cameras.close();
        await bridge.close();
      },
    });

    /** An RTSP-sourced camera (configured); with a database: only VBC01 cameras it knows, and not while they are offline. */
    async function knownCamera(id: string): Promise<CameraCheck> {
      if (!db || config.rtspSources.has(id)) return { ok: true };
      const store = database.store;
      if (!store) return { ok: false, status: 503, reason: 'the database is not open yet: try again shortly' };
      const row = (await store.query('cameras')).cameras.find((c) => c.camera_id === id);
      if (!row || row.device_type !== VBC01_DEVICE_TYPE) return { ok: false, status: 404, reason: `no VBC01 camera "${id}"` };
      if (row.connection_status === 'disconnected') return { ok: false, status: 503, reason: `camera "${id}" is offline` };
      return { ok: true };
    }

    const unexpose = exposeCounters({
      type: 'vbc01-live',
      id: node.id,
      read: () => cameras.totals(),
      series: () => cameras.running().map((s) => ({ labels: { camera: s.cameraId }, values: numbers(s.stats) })),
    });
    const unmount = mountRouter(
      RED,
      LIVE_ROUTES_ROOT,
      whepRouter({ cameras, checkToken: streamTokenCheck(settings), log: (t) => node.log(t) }),
    );
    status.now('ok', 'idle');

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      if (topic.startsWith('command/')) {
        const r = (msg.payload ?? {}) as CommandReport;
        // Reports on other commands (modes, sounds) pass by: they are not ours to act on.
        if (typeof r.action === 'string' && r.action.startsWith('stream-') && typeof r.deviceId === 'string' && typeof r.id === 'string')
          cameras.commandOutcome(r.deviceId, r.id, topic.slice('command/'.length), typeof r.reason === 'string' ? r.reason : undefined);
        return done();
      }
      if (topic === 'stop') {
        const id = (msg as { deviceId?: unknown }).deviceId;
        if (typeof id !== 'string' || !DEVICE_ID_PATTERN.test(id))
          return done(new Error('vbc01-live: stop needs msg.deviceId (a camera id)'));
        const stopped = cameras.stopCamera(id);
        return void stopped.then(() => done(), done);
      }
      done(new Error(`vbc01-live: unknown input topic "${topic.slice(0, 60)}" (expected command/... reports or "stop")`));
    });
  }
  RED.nodes.registerType('vbc01-live', Vbc01Live as unknown as NodeConstructor, {
    credentials: { rtspUser: { type: 'text' }, rtspPassword: { type: 'password' } },
  });
}

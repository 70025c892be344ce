/**
 * ipcam: ordinary RTSP IP cameras as devices of type `ipcam`. Each camera is
 * checked, its sub stream analysed by the same pipeline as the Pi's camera
 * (snapshots, MJPEG, motion events), and reported in the VBC01 topic tree.
 *   output 1: MQTT messages (connection, heartbeat, activity, thumbnails, mode) for mqtt out
 *   output 2: snapshots     output 3: camera states (check results, errors), and `device/removed`
 *   when a camera is deleted through the API (for ha-discovery and mqtt-api)
 * Cameras come from the node's properties and, with a database, from the API.
 */
import type { ZonePolygon } from '../lib/contract/zones';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { mountRouter } from '../lib/mount-router';
import type { NodeConstructor } from '../lib/node-config';
import { commandOfTopic, commandRefusal } from '../lib/contract/device-commands';
import { exposeCounters } from '../lib/metrics';
import { StatusReporter } from '../lib/status';
import type { MediamtxServerNode } from '../lib/mediamtx/server-node';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { readCameraInput } from '../lib/camera/inputs';
import { ipcamRouter, type CameraStorage } from './api';
import { openStored, sealedStorage } from './sealed-storage';
import { credentialSecret, SecretBox } from '../lib/secret-box';
import type { CameraSpec } from './camera-spec';
import { CameraSet } from './camera-set';
import type { IpCameraState } from './ip-camera';
import { LivePaths } from './live-paths';
import { IPCAM_DEVICE_TYPE } from './device-messages';
import {
  apiPath,
  cameraDefaults,
  flowCamera,
  flowZones,
  relaySettings,
  type IpcamCredentials,
  type IpcamDef,
  type RelaySettings,
} from './settings';
import { LiveRelay, readLiveInput, relayUrl } from './live-relay';
import { streamInput, type RelayFactory } from './camera-set';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { commandTarget, hostedDeviceId, splitHostedId } from '../lib/hosted-devices';
import { useDatabase } from '../lib/database-user';
import { deviceRemovedMessage } from '../lib/device-removed';
import type { EventStore } from '../lib/store/store';
import type { IpCameraStore } from '../lib/store/ip-cameras';

type Send = (msg: Array<NodeMessage | null>) => void;

/** Output 3's answer to a device command an IP camera cannot obey (topic `command-refused`). */
export interface CommandRefused {
  deviceId?: string;
  action: string;
  requestId?: string;
  reason: string;
}
type Done = (err?: Error) => void;

/**
 * Which camera a message is for: msg.deviceId, or the id in a command topic (…/honeycomb/{id}/…,
 * or …/honeycomb/{host}/ipcam/{camera}/… for a camera this node runs for its host). A hosted id
 * `{host}.{camera}` of this node's host is the camera's own id here.
 */
function targetId(msg: NodeMessageInFlow, host: string | undefined): string | undefined {
  const given = (msg as { deviceId?: unknown }).deviceId;
  const id = typeof given === 'string' ? given : typeof msg.topic === 'string' ? commandTarget(msg.topic) : undefined;
  const hosted = id === undefined ? undefined : splitHostedId(id);
  return hosted && hosted.hostId === host ? hosted.cameraId : id;
}

/** The cameras' summary, led by what their live relays do (a hosted camera someone watches). */
function summary(
  states: IpCameraState[],
  relays: Array<{ id: string; error?: string }> = [],
): [level: 'ok' | 'warn' | 'busy', text: string] {
  const [level, text] = camerasSummary(states);
  const failing = relays.find((r) => r.error);
  if (failing) return ['warn', `live relay of ${failing.id} retrying: ${failing.error} · ${text}`.slice(0, 100)];
  if (relays.length === 0) return [level, text];
  const live = states.length === 1 ? 'relaying live' : `relaying live: ${relays.map((r) => r.id).join(', ')}`;
  return [level, `${live} · ${text}`.slice(0, 100)];
}

function camerasSummary(states: IpCameraState[]): [level: 'ok' | 'warn' | 'busy', text: string] {
  if (states.length === 0) return ['warn', 'no cameras'];
  const streaming = states.filter((s) => s.state === 'streaming').length;
  const bad = states.find((s) => s.state === 'offline' || s.state === 'reconnecting');
  if (states.length === 1) {
    const s = states[0]!;
    const text = s.state === 'streaming' ? `streaming ${s.fps} fps` : `${s.state}${s.error ? `: ${s.error}` : ''}`;
    // The camera's ONVIF events failing is said in a few words, kept whole: the stream's text gives way.
    const e = s.onvifEvents;
    if (e?.error) {
      const events = ` · ONVIF events: ${e.brief ?? e.error}`.slice(0, 60);
      return ['warn', text.slice(0, 100 - events.length) + events];
    }
    return [s.state === 'streaming' ? 'ok' : s.state === 'checking' ? 'busy' : 'warn', text.slice(0, 100)];
  }
  return [
    bad ? 'warn' : 'ok',
    `${streaming}/${states.length} streaming${bad ? ` · ${bad.id}: ${bad.error ?? bad.state}` : ''}`.slice(0, 100),
  ];
}

/** Each hosted camera's relay: its main stream (else its sub stream) to `{relay server}/{host}.{camera}`. */
function relayFactory(to: RelaySettings, defaults: ReturnType<typeof cameraDefaults>, changed: () => void): RelayFactory {
  return (spec) =>
    new LiveRelay(
      {
        input: streamInput(spec, spec.mainUrl || spec.subUrl),
        target: { url: relayUrl(to.url, hostedDeviceId(defaults.host!, spec.id)), username: to.username, password: to.password },
        ffmpegPath: defaults.ffmpegPath,
        backoff: defaults.backoff,
      },
      { state: changed },
    );
}

export default function register(RED: NodeAPI): void {
  function Ipcam(this: Node & { credentials?: IpcamCredentials }, def: IpcamDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    let defaults: ReturnType<typeof cameraDefaults>;
    let own: CameraSpec | undefined;
    let ownZones: ZonePolygon[] = [];
    let base: string | undefined;
    let relayTo: RelaySettings | undefined;
    try {
      defaults = cameraDefaults(def);
      own = flowCamera(def, node.credentials ?? {});
      ownZones = flowZones(def);
      base = apiPath(def);
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 100));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`ipcam: ${(err as Error).message}`)));
      return;
    }

    // A relay that cannot work costs the live video only: the camera still runs, and a request gets the reason.
    let relayProblem: string | undefined;
    try {
      relayTo = relaySettings(def, node.credentials ?? {});
    } catch (err) {
      relayProblem = (err as Error).message;
      node.warn(`no live relay: ${relayProblem}`);
    }

    const out = (i: 0 | 1 | 2, msg: NodeMessage) => {
      const msgs: Array<NodeMessage | null> = [null, null, null];
      msgs[i] = msg;
      node.send(msgs);
    };
    const server = def.mediamtx ? (RED.nodes.getNode(def.mediamtx) as MediamtxServerNode | null) : null;
    if (def.mediamtx && !server?.client)
      node.warn(`no live video: the MediaMTX server has no API (${server?.problem ?? 'config node missing'})`);
    const live = server?.client ? new LivePaths(server.client, (t) => node.warn(t)) : undefined;
    const cameras = new CameraSet(
      defaults,
      (id) => ({
        message: (m) => out(0, { topic: m.topic, payload: m.payload, retain: m.retain, deviceId: m.deviceId } as NodeMessage),
        snapshot: (jpeg, requestId) =>
          out(1, { topic: 'snapshot', payload: jpeg, deviceId: id, requestId, timeMs: Date.now() } as NodeMessage),
        state: (s) => {
          out(2, { topic: 'state', payload: s, deviceId: id } as NodeMessage);
          status.soon(() => summary(cameras.states(), cameras.relaying()));
        },
        problem: (text) => node.warn(text),
      }),
      live,
      relayTo && defaults.host
        ? relayFactory(relayTo, defaults, () => status.soon(() => summary(cameras.states(), cameras.relaying())))
        : undefined,
    );
    const hideCounters = exposeCounters({ type: 'ipcam', id: node.id, read: () => ({ ...cameras.counters() }) });

    let storage: CameraStorage | undefined;
    // Logins of cameras added through the API are sealed with the runtime's credential secret.
    const box = new SecretBox(credentialSecret(RED.settings as { credentialSecret?: unknown }));
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    if (def.database && !db) node.warn('the database config node is missing: cameras cannot be added through the API');
    // The API waits for the first open of the database (its stored cameras loaded, or failed and retried
    // in the background), so a list right after a deploy is complete; the node's input waits for nothing.
    let firstOpen!: () => void;
    const opened = new Promise<void>((r) => (firstOpen = r));
    if (!db) firstOpen();
    const database = useDatabase<EventStore, Send>({
      node,
      database: db,
      status,
      unavailable: () => firstOpen(),
      ready: async (store) => {
        try {
          await started;
          const stored = store.ipCameras();
          const sealing = sealedStorage(stored, box);
          await loadStored(stored, sealing);
          storage = sealing;
          status.soon(() => summary(cameras.states(), cameras.relaying()));
        } finally {
          firstOpen(); // also when loading failed: the API answers instead of waiting for ever
        }
      },
      close: async () => {
        hideCounters();
        unmount();
        await started.catch(() => undefined);
        await cameras.close();
      },
    });
    // The flow's own camera needs no database.
    const started: Promise<void> = (async () => {
      // The first messages (the mode) must find the rest of the flow created: start after this turn.
      await new Promise((r) => setImmediate(r));
      if (own && !database.closing) await cameras.put(own, true, ownZones);
    })();
    const ready = Promise.all([started, opened]).then(() => undefined);
    started.then(
      () => status.soon(() => summary(cameras.states(), cameras.relaying())),
      (err: Error) => status.now('error', err.message.slice(0, 100)),
    );

    async function loadStored(store: IpCameraStore, sealing: CameraStorage): Promise<void> {
      for (const row of await store.list()) {
        if (database.closing) return;
        if (cameras.get(row.id)?.fromFlow) continue; // the flow's camera wins over a stored one with its id
        try {
          const { spec, plain } = openStored(row, box);
          // A login stored in plain text (before sealing) is sealed now, not left readable until its next change.
          if (plain && box.canSeal) await sealing.put(spec);
          await cameras.put(spec);
        } catch (err) {
          node.warn(`stored IP camera "${row.id}" skipped: ${(err as Error).message}`);
        }
      }
    }

    // No routes at all with the API off (the Pi flow: its runtime has no login for HTTP routes).
    const unmount = !base
      ? () => undefined
      : mountRouter(
          RED,
          base,
          ipcamRouter({
            cameras,
            get storage() {
              return storage;
            },
            get databasePending() {
              return db !== null && !storage;
            },
            ffprobePath: defaults.ffprobePath,
            log: (t) => node.log(t),
            removed: (id) => {
              node.log(`IP camera "${id}" removed`);
              const deviceId = defaults.host ? hostedDeviceId(defaults.host, id) : id;
              out(2, deviceRemovedMessage({ deviceId, deviceType: IPCAM_DEVICE_TYPE }) as NodeMessage);
            },
            ready,
          }),
        );

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      // A device command an IP camera cannot obey (reboot, settings, sound) is answered, not an error.
      const command = typeof msg.topic === 'string' ? commandOfTopic(msg.topic) : undefined;
      const refusal = command && commandRefusal(IPCAM_DEVICE_TYPE, command);
      if (command && refusal) {
        const deviceId = targetId(msg, defaults.host);
        const requestId = (msg.payload as { requestId?: unknown } | undefined)?.requestId;
        const payload: CommandRefused = {
          deviceId,
          action: command,
          ...(typeof requestId === 'string' ? { requestId: requestId.slice(0, 128) } : {}),
          reason: refusal,
        };
        node.log(`command ${command} for ${deviceId ?? 'an IP camera'} refused: ${refusal}`);
        out(2, { topic: 'command-refused', payload, deviceId } as NodeMessage);
        return done();
      }
      const live = readLiveInput(msg);
      if (live && 'invalid' in live) return done(new Error(`ipcam: ${live.invalid}`));
      if (live && relayProblem) return done(new Error(`ipcam: no live video: ${relayProblem}`));
      const input = live ? ({ type: 'live', seconds: live.seconds } as const) : readCameraInput(msg);
      if (input.type === 'invalid') return done(new Error(`ipcam: ${input.reason}`));
      const id = targetId(msg, defaults.host) ?? (cameras.list().length === 1 ? cameras.list()[0]!.spec.id : undefined);
      if (id === undefined) return done(new Error('ipcam: say which camera (msg.deviceId) when the node runs several'));
      const entry = DEVICE_ID_PATTERN.test(id) ? cameras.get(id) : undefined;
      if (!entry) return done(new Error(`ipcam: no camera "${id}"`));
      const run = async () => {
        switch (input.type) {
          case 'start':
          case 'restart':
            await entry.camera.restart();
            break;
          case 'stop':
            await entry.camera.stop();
            break;
          case 'mode':
            if (!entry.fromFlow) await storage?.setMode(id, input.mode);
            await cameras.setMode(id, input.mode);
            break;
          case 'zones':
            // The cloud re-sends the dashboard's zones whenever the camera connects (mqtt-processor).
            entry.camera.setZones(input.zones);
            node.log(`${id}: masks and zones: ${input.zones.length} polygon(s)`);
            break;
          case 'snapshot':
            if (!(await entry.camera.snapshot(input.requestId)))
              throw new Error(`no picture: camera "${id}" is ${entry.camera.state.state}`);
            break;
          case 'live': {
            const refused = cameras.relayLive(id, input.seconds);
            if (refused) throw new Error(`no live video: ${refused}`);
            status.soon(() => summary(cameras.states(), cameras.relaying()));
            break;
          }
        }
      };
      run().then(
        () => done(),
        (err: Error) => done(err),
      );
    });
  }
  RED.nodes.registerType('ipcam', Ipcam as unknown as NodeConstructor, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      relayUser: { type: 'text' },
      relayPassword: { type: 'password' },
    },
  });
}

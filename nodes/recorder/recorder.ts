/**
 * recorder: recordings and event clips (issue 19). Records each configured camera with a
 * supervised ffmpeg (segments copied from the stream, indexed in the store), takes segments
 * MediaMTX recorded through the runtime's internal hook, cuts each event's clip from the
 * segments around it, keeps the disk within its retention rules and serves /api/recordings.
 *   input:    store records (sqlite-events output 1, one per message or an array): activity
 *             starts and stops of recorded cameras open and end their clips; others pass by.
 *             On a Pi: the camera's own activity messages (`…/{id}/activity/start|stop`).
 * On a Pi (issue 19, "the clips arrive later") it records the camera's local copy, serves no routes,
 * and with an upload URL sends each clip the cloud has none of once the uplink works (clip-upload.ts).
 *   output 1: `clip/ready` / `clip/failed` with a ClipReadyPayload (nodes/lib/contract/recordings.ts)
 *   output 2: alerts (`storage-low`, `storage-ok`) for the alert nodes
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { recordsIn } from '../lib/records-in';
import { redactText } from '../lib/redact';
import { mountRouter } from '../lib/mount-router';
import { API_PATHS, apiUrl, RECORDING_ROUTES_ROOT } from '../lib/contract/api-routes';
import { useDatabase } from '../lib/database-user';
import { exposeCounters } from '../lib/metrics';
import type { NodeConstructor } from '../lib/node-config';
import { ClipUploader } from '../lib/recording/clip-upload';
import { RecorderService } from '../lib/recording/recorder-service';
import { registerSegmentSink } from '../lib/recording/segment-sink';
import { StatusReporter, type StatusLevel } from '../lib/status';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import type { EventStore } from '../lib/store/store';
import { recordingsRouter } from './api';
import { deviceActivity } from './device-activity';
import { recorderConfig, type RecorderConfig, type RecorderCredentials, type RecorderDef } from './settings';
import { followRecordingRetention } from '../lib/admin-settings';

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

const mb = (n: number) => (n < 1024 ** 3 ? `${Math.round(n / 1024 ** 2)} MB` : `${(n / 1024 ** 3).toFixed(1)} GB`);

/** Text with every source password and any URL login replaced by ***: ffmpeg may quote a URL in its errors. */
const scrubber = (secrets: readonly string[]) => (text: string) => redactText(secrets.reduce((t, s) => t.split(s).join('***'), text));

export default function register(RED: NodeAPI): void {
  function Recorder(this: Node, def: RecorderDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    let config: RecorderConfig;
    try {
      config = recorderConfig(
        def,
        (node as Node & { credentials?: RecorderCredentials }).credentials,
        RED.settings.userDir as string | undefined,
      );
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 100));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`recorder: ${(err as Error).message}`)));
      return;
    }
    const scrub = scrubber(config.secrets);
    // The admin page's recordings days (issue 23), over this node's, from the next retention run.
    node.on(
      'close',
      followRecordingRetention(config.rules, (m) => node.warn(m)),
    );
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    let service: RecorderService | undefined;
    let uploader: ClipUploader | undefined;
    let bytes = { segments: 0, clips: 0, free: 0, floor: 0 };
    const unmounts: Array<() => void> = [];

    const summary = (): [StatusLevel, string] => {
      if (!service) return ['busy', 'waiting for the database'];
      const s = service;
      const recorded = s.cameras().filter((c) => c.mode !== 'off');
      const running = recorded.filter((c) => c.running).length;
      const pending = s.pendingClips ? ` · ${s.pendingClips} clip${s.pendingClips > 1 ? 's' : ''} pending` : '';
      const used = ` · ${mb(bytes.segments + bytes.clips)}`;
      if (uploader?.lastProblem)
        return ['warn', scrub(`${running}/${recorded.length} recording${used} · ${uploader.lastProblem}`).slice(0, 120)];
      if (s.low) return ['error', `disk below its floor (${mb(bytes.free)} free)${used}`];
      if (recorded.some((c) => c.input) && running < recorded.filter((c) => c.input).length && s.lastFailure)
        return ['warn', scrub(`${running}/${recorded.length} recording · ${s.lastFailure}`).slice(0, 120)];
      return ['ok', `${running} of ${recorded.length} camera${recorded.length === 1 ? '' : 's'} recording${used}${pending}`];
    };
    const refreshUsage = async () => {
      const u = await service?.usage().catch(() => undefined);
      if (!u) return;
      bytes = {
        segments: u.cameras.reduce((n, c) => n + c.segmentBytes, 0),
        clips: u.cameras.reduce((n, c) => n + c.clipBytes, 0),
        free: u.disk.freeBytes,
        floor: u.floorBytes,
      };
      perCamera = u.cameras.map((c) => ({
        labels: { camera: c.cameraId },
        values: { segmentBytes: c.segmentBytes, clipBytes: c.clipBytes },
      }));
      status.soon(summary);
    };
    let perCamera: Array<{ labels: Record<string, string>; values: Record<string, number> }> = [];
    let usageTimer: NodeJS.Timeout | undefined;
    const changed = () => {
      status.soon(summary);
      usageTimer ??= setTimeout(() => {
        usageTimer = undefined;
        void refreshUsage();
      }, 2000);
    };

    const database = useDatabase<EventStore, Send>({
      node,
      database: db,
      status,
      label: 'database',
      ready: async (store) => {
        if (database.closing) return;
        service = new RecorderService({
          ...config,
          store: store.recordings(),
          clipUrl: (cameraId, eventId) => apiUrl(API_PATHS.recordingClip, { cameraId, eventId }),
          send: (topic, payload) => node.send([{ topic, payload } as NodeMessage, null]),
          alert: (alert) => {
            node.warn(alert.text);
            node.send([null, { topic: `alert/${alert.kind}`, payload: alert } as NodeMessage]);
          },
          log: (t) => node.log(scrub(t)),
          warn: (t) => node.warn(scrub(t)),
          changed,
        });
        if (config.serve) unmounts.push(registerSegmentSink(node.id, (seg) => service!.addSegment(seg)));
        await service.start();
        if (config.upload) {
          uploader = new ClipUploader({
            root: config.root,
            store: store.recordings(),
            cloudUrl: config.upload.url,
            token: config.upload.token,
            // The cloud cuts its own clip of an event at about the time the Pi does, once a segment past the
            // post-roll arrives (at most two segments and 3 s late): offered after that, a clip it has is not sent.
            settleMs: (2 * config.segmentSeconds + 10) * 1000,
            log: (t) => node.log(scrub(t)),
            warn: (t) => node.warn(scrub(t)),
            changed,
          });
          uploader.start();
        }
        changed();
      },
      input: (_store, msg, _send, done) => {
        const own = deviceActivity(msg.topic, msg.payload);
        for (const r of own ? [own] : recordsIn(msg.payload))
          if (r.kind === 'activity-start' || r.kind === 'activity-stop') service?.activity(r);
        done();
      },
      close: async () => {
        clearTimeout(usageTimer);
        for (const u of unmounts.splice(0)) u();
        unexpose();
        await uploader?.close();
        await service?.close();
        status.clear();
      },
    });

    const unexpose = exposeCounters({
      type: 'recorder',
      id: node.id,
      read: () => ({
        ...(service?.counters ?? {}),
        clipsUploaded: uploader?.counters.sent ?? 0,
        clipsUploadRefused: uploader?.counters.refused ?? 0,
        pendingClips: service?.pendingClips ?? 0,
        freeBytes: bytes.free,
        floorBytes: bytes.floor,
        low: service?.low ? 1 : 0,
        camerasRecording: service?.cameras().filter((c) => c.running).length ?? 0,
      }),
      series: () => perCamera,
    });
    if (config.serve)
      unmounts.push(
        mountRouter(
          RED,
          RECORDING_ROUTES_ROOT,
          recordingsRouter({
            service: () => service,
            known: async (id) =>
              !!service &&
              (service.cameras().some((c) => c.cameraId === id) ||
                (await database.store!.recordings().totals()).some((t) => t.cameraId === id)),
            log: (t) => node.log(t),
          }),
        ),
      );
    if (!db) status.now('error', 'no database: the recorder needs a picam-database config node');
    else status.now('busy', 'opening the database');
  }
  RED.nodes.registerType('recorder', Recorder as unknown as NodeConstructor, {
    credentials: { rtspUser: { type: 'text' }, rtspPassword: { type: 'password' }, uploadToken: { type: 'password' } },
  });
}

/**
 * Operations endpoints of a runtime:
 *
 *   GET /healthz   {status, role, uptimeSeconds, flows, database, leadership}: 200 when the
 *                  flows run and the database answers and can write, 503
 *                  otherwise (`database` says why: "cannot write: disk full…"). No login
 *                  (load balancers, systemd watchdogs) and nothing secret in it.
 *                  `leadership`: "leader" or "follower" (a follower is healthy: it serves
 *                  the dashboard and ingests; it only leaves the run-once jobs to the leader).
 *   GET /metrics   Prometheus text: messages processed, dead letters, alerts
 *                  pending, streams online, cameras connected, process memory.
 *                  Behind the API login like the rest of the API.
 *
 * Database figures come from a read-only connection to the event store, opened
 * at the first request (the flow creates the file) and kept.
 */
import { existsSync } from 'node:fs';
import type { Request, Response } from 'express';
import { healthProblems } from '../../nodes/lib/health';
import { seriesOf, sumCounters } from '../../nodes/lib/metrics';
import { storeFigures, type StoreFigures } from '../../nodes/lib/store/ops-figures';
import { Connection } from '../../nodes/lib/store/sqlite';
import type { LeadershipStatus } from '../../nodes/lib/cluster/leadership';

export interface OpsOptions {
  role: string;
  /** the event store's file; undefined where the role keeps none (the Pi) */
  dbFile?: string;
  /** whether Node-RED has started its flows */
  flowsStarted: () => boolean;
  /** whether this runtime leads the run-once jobs (cli/runtime/cluster.ts); always on one box */
  leadership?: () => LeadershipStatus;
}

const PROCESSOR_COUNTERS: Array<[key: string, name: string, help: string]> = [
  ['received', 'picam_messages_received_total', 'Device messages mqtt-processor received.'],
  ['records', 'picam_records_total', 'Typed records mqtt-processor produced for the database.'],
  ['rejected', 'picam_messages_rejected_total', 'Device messages rejected into dead letters.'],
  ['duplicates', 'picam_messages_duplicate_total', 'QoS 1 redeliveries dropped.'],
  ['alerts', 'picam_alerts_raised_total', 'Alerts raised on the alert contract.'],
  ['commands', 'picam_commands_total', 'Commands built for devices.'],
];

/** A figure a node counts, as /metrics names and describes it. */
type MetricSpec = [key: string, name: string, type: 'counter' | 'gauge', help: string];

/** The ipcam nodes' figures, summed over every ipcam node (nodes/ipcam/camera-set.ts counters()). */
const IPCAM_FIGURES: MetricSpec[] = [
  ['camerasConfigured', 'picam_ipcam_cameras', 'gauge', 'IP cameras configured in ipcam nodes.'],
  ['camerasConnected', 'picam_ipcam_cameras_connected', 'gauge', 'IP cameras whose frames flow now.'],
  ['framesAnalysed', 'picam_ipcam_frames_analysed_total', 'counter', "Frames of IP cameras' sub streams the analyser decoded."],
  ['motionEvents', 'picam_ipcam_motion_events_total', 'counter', 'Motion events of IP cameras (analyser and ONVIF).'],
  ['reconnects', 'picam_ipcam_reconnects_total', 'counter', 'Times an IP camera stream broke off and was pulled again.'],
  ['mjpegViewers', 'picam_ipcam_mjpeg_viewers', 'gauge', 'MJPEG viewers of IP cameras now.'],
  ['failedChecks', 'picam_ipcam_checks_failed_total', 'counter', 'IP camera connection checks that failed.'],
];

/** The VBC01 live view's counters per stream (vbc01-live; labelled with the camera id). */
const LIVE_SERIES: MetricSpec[] = [
  ['packets', 'picam_live_packets_total', 'counter', 'RTP packets received from the camera in its current live stream.'],
  ['lost', 'picam_live_packets_lost_total', 'counter', 'RTP packets the camera sent that never arrived (sequence gaps).'],
  ['spoofed', 'picam_live_packets_spoofed_total', 'counter', "Packets from another address or SSRC than the stream's, dropped."],
  ['bitrateBps', 'picam_live_bitrate_bps', 'gauge', "The camera's received bitrate, bit/s."],
  ['rembSent', 'picam_live_remb_sent_total', 'counter', 'REMB messages sent to the camera.'],
  ['lastRembBps', 'picam_live_remb_bps', 'gauge', 'The bitrate the last REMB asked the camera for, bit/s.'],
  ['viewers', 'picam_live_viewers', 'gauge', 'Browsers watching the stream.'],
];

/** The recorder's figures (nodes/recorder), summed over recorder nodes; bytes per camera below. */
const RECORDER_FIGURES: MetricSpec[] = [
  ['segments', 'picam_recording_segments_total', 'counter', 'Recorded segments indexed (own ffmpeg and MediaMTX).'],
  ['clipsReady', 'picam_recording_clips_ready_total', 'counter', 'Event clips cut and ready.'],
  ['clipsFailed', 'picam_recording_clips_failed_total', 'counter', 'Event clips that could not be cut.'],
  ['segmentsDeleted', 'picam_recording_segments_deleted_total', 'counter', 'Segments deleted by retention (age or free space).'],
  ['clipsDeleted', 'picam_recording_clips_deleted_total', 'counter', 'Event clips deleted by retention (age or free space).'],
  ['refusedPaths', 'picam_recording_refused_paths_total', 'counter', 'Index rows naming a file outside the recordings folder, refused.'],
  ['clipsReceived', 'picam_recording_clips_received_total', 'counter', 'Event clips a Pi sent after an outage, checked and stored.'],
  ['clipsUploaded', 'picam_recording_clips_uploaded_total', 'counter', "A Pi's event clips the cloud stored (the Pi's own figure)."],
  [
    'clipsUploadRefused',
    'picam_recording_clips_upload_refused_total',
    'counter',
    "A Pi's event clips the cloud refused, with a reason (not sent again).",
  ],
  ['camerasRecording', 'picam_recording_cameras', 'gauge', 'Cameras whose recording ffmpeg is writing segments now.'],
  ['pendingClips', 'picam_recording_clips_pending', 'gauge', 'Event clips waiting for their post-roll or being cut.'],
  ['freeBytes', 'picam_recording_disk_free_bytes', 'gauge', "Free bytes on the recordings folder's file system."],
  ['floorBytes', 'picam_recording_disk_floor_bytes', 'gauge', 'Free bytes retention keeps (the larger of the percentage and the GB).'],
  ['low', 'picam_recording_storage_low', 'gauge', '1 while the free-space floor cannot be kept without deleting event clips.'],
];

/** A Prometheus label value: backslash, quote and newline escaped. */
const labelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class Ops {
  private readonly startedMs = Date.now();
  private db?: Promise<Connection>;

  constructor(private readonly opts: OpsOptions) {}

  private async connection(): Promise<Connection | undefined> {
    if (!this.opts.dbFile || !existsSync(this.opts.dbFile)) return undefined;
    this.db ??= Connection.open(this.opts.dbFile, true).then(async (c) => {
      await c.exec('PRAGMA busy_timeout = 2000; PRAGMA query_only = ON;');
      return c;
    });
    return this.db.catch((err: Error) => {
      this.db = undefined; // retried at the next request
      throw err;
    });
  }

  /**
   * The store's own queries on a read-only connection of ours: /healthz and /metrics answer
   * whether or not a node holds the store open, and a WAL reader never blocks its writer.
   */
  private async storeFigures(): Promise<StoreFigures | undefined> {
    const db = await this.connection();
    if (!db) return undefined;
    // The file exists but the database node has not made its tables yet (a start): no figures, as before the file.
    return storeFigures(db).catch((err: Error) => {
      if (/no such table/.test(err.message)) return undefined;
      throw err;
    });
  }

  readonly health = (_req: Request, res: Response): void => {
    const flows = this.opts.flowsStarted() ? 'started' : 'starting';
    const body = {
      status: 'ok',
      role: this.opts.role,
      uptimeSeconds: Math.round((Date.now() - this.startedMs) / 1000),
      flows,
      database: 'none',
      ...this.leadership(),
    };
    const answer = (readable: string) => {
      // A node that cannot do its work says why under its name (lib/health.ts): the store node
      // knows when writes fail (a full disk still reads fine), so its word wins over `readable`.
      const problems = Object.fromEntries(healthProblems().map((p) => [p.name, p.reason]));
      const ok = flows === 'started' && readable !== 'unavailable' && Object.keys(problems).length === 0;
      res.status(ok ? 200 : 503).json({ ...body, status: ok ? 'ok' : 'unavailable', database: readable, ...problems });
    };
    if (!this.opts.dbFile) return answer('none');
    this.connection()
      .then((db) => (db ? db.get('SELECT 1 AS ok').then(() => 'ok') : 'not created yet'))
      .then(answer, () => answer('unavailable'));
  };

  /** `leadership` and, while the lock cannot be tried for, why (never a secret: the URL's password is scrubbed). */
  private leadership(): { leadership: LeadershipStatus['role']; leadershipProblem?: string } {
    const l: Partial<LeadershipStatus> = this.opts.leadership?.() ?? {};
    return { leadership: l.role ?? 'leader', ...(l.problem && { leadershipProblem: l.problem }) };
  }

  readonly metrics = (_req: Request, res: Response): void => {
    this.render().then(
      (text) => res.type('text/plain; version=0.0.4').send(text),
      (err: Error) => res.status(503).type('text/plain').send(`# metrics unavailable: ${err.message}\n`),
    );
  };

  async render(): Promise<string> {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    metric(
      'picam_leader',
      'gauge',
      'Whether this runtime runs the jobs that must run once (1: the leader; always 1 on one box).',
      this.leadership().leadership === 'leader' ? 1 : 0,
    );
    const counters = sumCounters('mqtt-processor');
    for (const [key, name, help] of PROCESSOR_COUNTERS) metric(name, 'counter', help, counters[key] ?? 0);
    const ipcam = sumCounters('ipcam');
    for (const [key, name, type, help] of IPCAM_FIGURES) metric(name, type, help, ipcam[key] ?? 0);
    const store = await this.storeFigures();
    if (store) {
      metric('picam_dead_letters', 'gauge', 'Rejected device input kept in the dead-letter table.', store.deadLetters);
      metric('picam_alerts_pending', 'gauge', 'Alerts in the outbox not yet delivered.', store.alertsPending);
      metric('picam_streams_online', 'gauge', 'MediaMTX streams online at the last health poll.', store.streamsOnline);
      metric('picam_streams_known', 'gauge', 'MediaMTX streams ever seen by the health monitor.', store.streamsKnown);
      metric('picam_cameras_connected', 'gauge', 'Cameras and Pis whose last connection message said connected.', store.camerasConnected);
    }
    this.renderLive(lines);
    const recorder = sumCounters('recorder');
    for (const [key, name, type, help] of RECORDER_FIGURES) metric(name, type, help, recorder[key] ?? 0);
    lines.push(
      '# HELP picam_recording_bytes Bytes of recordings kept per camera (kind: segments or clips).',
      '# TYPE picam_recording_bytes gauge',
    );
    for (const s of seriesOf('recorder')) {
      const camera = labelValue(s.labels.camera ?? '');
      lines.push(`picam_recording_bytes{camera="${camera}",kind="segments"} ${s.values.segmentBytes ?? 0}`);
      lines.push(`picam_recording_bytes{camera="${camera}",kind="clips"} ${s.values.clipBytes ?? 0}`);
    }
    const mem = process.memoryUsage();
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory of the runtime process.', mem.rss);
    metric('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', mem.heapUsed);
    metric('process_uptime_seconds', 'gauge', 'Seconds since the runtime started.', Math.round((Date.now() - this.startedMs) / 1000));
    return `${lines.join('\n')}\n`;
  }

  /** The live view's streams: how many run, and each one's counters labelled with its camera. */
  private renderLive(lines: string[]): void {
    const live = sumCounters('vbc01-live');
    lines.push(
      '# HELP picam_live_streams VBC01 live streams running.',
      '# TYPE picam_live_streams gauge',
      `picam_live_streams ${live.streams ?? 0}`,
    );
    const series = seriesOf('vbc01-live');
    for (const [key, name, type, help] of LIVE_SERIES) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const s of series) {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${labelValue(v)}"`)
          .join(',');
        lines.push(`${name}{${labels}} ${s.values[key] ?? 0}`);
      }
    }
  }

  async close(): Promise<void> {
    const db = await this.db?.catch(() => undefined);
    this.db = undefined;
    await db?.close();
  }
}

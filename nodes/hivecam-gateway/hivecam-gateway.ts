/**
 * hivecam-gateway: what a VBC01 camera needs from the cloud besides the broker
 * (seed 004's config server), served on its own port because cameras cannot
 * log in: broker endpoint, client certificates for registered or enrolling
 * cameras, and ZIP uploads whose thumbnails go to the alert nodes and whose
 * recordings become HLS for the dashboard (under the runtime's /api/media).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { CERT_FILE_NAMES } from '../lib/cert-files';
import { ffmpegInstalled } from '../lib/child-process';
import { FailureLimiter } from '../lib/failure-limiter';
import { trustedProxiesFromSettings } from '../lib/client-address';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import { DEVICE_ID_PATTERN, type AlertSnapshot } from '../lib/types';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../lib/uploads/safe-zip';
import type { PicamDatabaseNode } from '../picam-database/picam-database';
import type { UploadStore } from '../picam-database/uploads';
import { decideAccess, EnrolmentWindow, loadCertBundle, parseCameraList } from './access';
import { acceptUpload, storeSnapshot, type AcceptedUpload } from './accept-upload';
import { parseCommand, type GatewayCommand } from './control';
import { acceptEventUpload } from './event-upload';
import { fileservice, publicBaseOf, type FileserviceDeps } from './fileservice';
import { gatewayHandler, ServiceUnavailableError } from './gateway-server';
import { makeHls } from './hls';
import { mediaRouter } from './media-routes';
import { diskUse, INCOMING_DIR, pruneUploads, sweepTemporaries } from './retention';
import { HttpError, receiveUpload, type UploadIds } from './upload-receiver';
import { mountRouter } from './media-mount';

interface HivecamGatewayDef extends NodeDef {
  database: string;
  port: string | number;
  bind: string;
  https: boolean;
  brokerHost: string;
  brokerPort: string | number;
  certDir: string;
  uploadDir: string;
  cameras: string;
  maxUploadMB: string | number;
  uploadIdleS: string | number;
  uploadMaxMinutes: string | number;
  retainDays: string | number;
  ffmpeg: string;
}

type Send = (msg: Array<NodeMessageInFlow | null>) => void;
type Done = (err?: Error) => void;

const PRUNE_EVERY_MS = 3600_000;

export default function register(RED: NodeAPI): void {
  function HivecamGateway(this: Node, def: HivecamGatewayDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const inUserDir = (p: string, fallback: string) => (p ? (isAbsolute(p) ? p : join(userDir, p)) : join(userDir, fallback));
    const certDir = inUserDir(def.certDir, 'certs');
    const uploadsRoot = inUserDir(def.uploadDir, 'uploads');
    const tmpDir = join(uploadsRoot, INCOMING_DIR);
    const port = numberSetting(def.port, 8080);
    const maxUploadBytes = numberSetting(def.maxUploadMB, 256) * 1024 * 1024;
    // A camera on a slow link still sends something every few seconds; a stalled body is cut off.
    const uploadIdleMs = Math.max(1, numberSetting(def.uploadIdleS, 30)) * 1000;
    const uploadDeadlineMs = Math.max(1 / 60, numberSetting(def.uploadMaxMinutes, 10)) * 60_000;
    const limits: ZipLimits = DEFAULT_ZIP_LIMITS;
    const retainDays = numberSetting(def.retainDays, 30);
    const ffmpeg = def.ffmpeg || 'ffmpeg';
    const hls = ffmpegInstalled(ffmpeg);
    const broker = { endpoint: def.brokerHost || '127.0.0.1', port: numberSetting(def.brokerPort, 8883) };
    const configured = parseCameraList(def.cameras, (id) => DEVICE_ID_PATTERN.test(id));
    if (configured.invalid.length) node.warn(`ignoring invalid camera ids in the settings: ${configured.invalid.join(', ')}`);
    const enrolment = new EnrolmentWindow();
    const limiter = new FailureLimiter();
    const db = RED.nodes.getNode(def.database) as PicamDatabaseNode | null;
    let uploads: UploadStore | undefined;
    let stored = 0;
    let refused = 0;
    let server: Server | undefined;
    let listening = '';
    let pruneTimer: NodeJS.Timeout | undefined;
    let unmount = () => {};
    // ffmpeg jobs turning recordings into HLS: stopped and awaited on close.
    const closing = new AbortController();
    const hlsJobs = new Set<Promise<unknown>>();

    const show = () => {
      if (!listening) return;
      const open = enrolment.closesAt();
      const enrol = open ? `, enrolment open ${Math.ceil((open - Date.now()) / 60_000)} min` : '';
      status.now(refused ? 'warn' : 'ok', `${listening}${enrol} · ${stored} uploads${refused ? `, ${refused} refused` : ''}`);
    };
    const event = (topic: string, payload: unknown): NodeMessageInFlow => ({ topic, payload }) as NodeMessageInFlow;
    const emit = (snapshot: AlertSnapshot | null, info: NodeMessageInFlow | null) =>
      node.send([snapshot ? ({ topic: 'snapshot', payload: snapshot } as NodeMessageInFlow) : null, info]);

    if (!db) {
      status.now('error', 'no database configured');
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error('hivecam-gateway: no database configured')));
      return;
    }

    const needStore = (): UploadStore => {
      if (!uploads) throw new ServiceUnavailableError('the database is not open yet');
      return uploads;
    };
    /** Every refused upload or snapshot: counted on the status and reported on the second output. */
    const rejected = (what: Partial<UploadIds>, err: Error) => {
      refused++;
      show();
      emit(null, event('rejected', { cameraId: what.cameraId, eventId: what.eventId, error: err.message }));
    };

    const afterUpload = (accepted: AcceptedUpload) => {
      stored++;
      show();
      const thumbnail = accepted.files.find((f) => f.fileType === 'thumbnail');
      emit(
        thumbnail
          ? { kind: 'snapshot', deviceId: accepted.cameraId, eventId: accepted.eventId, image: thumbnail.filePath, timeMs: Date.now() }
          : null,
        event('upload', accepted),
      );
      const recording = accepted.files.find((f) => f.fileType === 'recording');
      if (recording && hls) {
        const job = makeHls(recording.filePath, join(accepted.dir, 'hls'), { uploadsRoot, ffmpeg, signal: closing.signal })
          .then((playlist) => needStore().setPlaylist(recording.id, playlist))
          .then(
            () => node.log(`${accepted.cameraId}/${accepted.eventId}: recording ready for playback`),
            (err: Error) =>
              closing.signal.aborted ||
              node.warn(`${accepted.cameraId}/${accepted.eventId}: recording kept, but not playable in the browser: ${err.message}`),
          )
          .finally(() => hlsJobs.delete(job));
        hlsJobs.add(job);
      }
    };

    /** Before the first byte is written: strangers cannot fill the disk. */
    const admitCamera = async (cameraId: string) => {
      const known = configured.ids.has(cameraId) || (await needStore().camera(cameraId));
      if (!known) throw new HttpError(403, `camera ${cameraId} is not registered`);
    };

    const fileserviceDeps: FileserviceDeps = {
      admit: admitCamera,
      publicBase: publicBaseOf,
      upload: async (req, target) => {
        let received;
        try {
          received = await receiveUpload(req, new URLSearchParams({ camera_id: target.cameraId, event_id: target.eventId }), {
            tmpDir,
            maxBytes: maxUploadBytes,
            idleMs: uploadIdleMs,
            deadlineMs: uploadDeadlineMs,
            rawZip: true,
            admit: ({ cameraId }) => admitCamera(cameraId),
          });
        } catch (err) {
          rejected(target, err as Error);
          throw err;
        }
        try {
          const accepted = await acceptEventUpload(received, target, { uploadsRoot, limits, store: needStore() });
          afterUpload(accepted);
          return accepted;
        } catch (err) {
          rejected(target, err as Error);
          throw err;
        } finally {
          await rm(received.zipPath, { force: true });
        }
      },
    };

    const handler = gatewayHandler({
      broker: () => broker,
      access: async (cameraId) =>
        decideAccess(cameraId, {
          inSettings: configured.ids.has(cameraId),
          registered: await needStore().camera(cameraId),
          windowOpen: enrolment.isOpen(),
        }),
      certificates: () => loadCertBundle(certDir),
      certificateIssued: async (cameraId, via) => {
        const store = needStore();
        if (via !== 'registered') await store.registerCamera(cameraId, via === 'enrolment' ? 'enrolment' : 'admin');
        await store.certificateIssued(cameraId);
        emit(null, event('certificate', { cameraId, via }));
      },
      upload: async (req, query) => {
        let received;
        try {
          received = await receiveUpload(req, query, {
            tmpDir,
            maxBytes: maxUploadBytes,
            idleMs: uploadIdleMs,
            deadlineMs: uploadDeadlineMs,
            admit: ({ cameraId }) => admitCamera(cameraId),
          });
        } catch (err) {
          rejected({ cameraId: query.get('camera_id') ?? undefined, eventId: query.get('event_id') ?? undefined }, err as Error);
          throw err;
        }
        try {
          const accepted = await acceptUpload(received, { uploadsRoot, limits, store: needStore() });
          afterUpload(accepted);
          return accepted;
        } catch (err) {
          rejected(received, err as Error);
          throw err;
        } finally {
          await rm(received.zipPath, { force: true });
        }
      },
      fileservice: (req, parts) => fileservice(req, parts, fileserviceDeps),
      limiter,
      trustedProxies: trustedProxiesFromSettings(RED.settings, (m) => node.warn(m)),
      log: (line) => node.log(line),
      warn: (line) => node.warn(line),
    });

    // What an upload that was cut off by a crash left behind; live uploads end within their deadline.
    const sweep = (olderThanMs: number) =>
      sweepTemporaries(uploadsRoot, olderThanMs).then(
        (r) => {
          if (r.removed) node.log(`removed ${r.removed} stale temporary upload files`);
          for (const f of r.failures) node.warn(`stale temporaries: ${f}`);
          return r;
        },
        (err: Error) => node.warn(`sweeping stale temporary uploads failed: ${err.message}`),
      );
    const staleAfterMs = Math.max(2 * uploadDeadlineMs, PRUNE_EVERY_MS);

    const prune = () =>
      uploads &&
      sweep(staleAfterMs)
        .then(() => pruneUploads(uploads!, uploadsRoot, retainDays))
        .then(
          (r) => {
            if (r.files) node.log(`retention: removed ${r.files} uploaded files older than ${retainDays} days`);
            for (const f of r.failures) node.warn(`retention: ${f}`);
            return r;
          },
          (err: Error) => {
            node.warn(`retention run failed: ${err.message}`);
            throw err;
          },
        );

    status.now('busy', 'opening database');
    db.acquire(node)
      .then(async (s) => {
        mkdirSync(tmpDir, { recursive: true, mode: 0o750 });
        // Nothing is uploading before the server listens: every temporary left is stale.
        await sweep(0);
        return s;
      })
      .then(
        (s) => {
          if (closing.signal.aborted) return; // closed while the database was opening
          uploads = s.uploads();
          const tls = def.https
            ? { cert: readFileSync(join(certDir, CERT_FILE_NAMES.brokerCert)), key: readFileSync(join(certDir, CERT_FILE_NAMES.brokerKey)) }
            : undefined;
          server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
          // The upload receiver cuts bodies off with a clear 408 first; this is Node's backstop.
          server.requestTimeout = uploadDeadlineMs + 60_000;
          server.on('error', (err: NodeJS.ErrnoException) => {
            const hint = err.code === 'EACCES' ? ' (ports below 1024 need a capability: see the README)' : '';
            status.now('error', `port ${port}: ${err.code ?? err.message}`);
            node.error(`cannot serve cameras on port ${port}: ${err.message}${hint}`);
          });
          server.listen(port, def.bind || '0.0.0.0', () => {
            const address = server!.address();
            listening = `${tls ? 'https' : 'http'} :${typeof address === 'object' && address ? address.port : port}`;
            node.log(`serving cameras on ${listening}; uploads in ${uploadsRoot}; certificates from ${certDir}`);
            show();
          });
          unmount = mountRouter(
            RED,
            '/api/media',
            mediaRouter({ store: () => uploads, usage: () => diskUse(needStore(), uploadsRoot), hlsAvailable: () => hls }),
          );
          // Failures are reported inside prune (and answered to the `prune` command): nothing more to do here.
          const pruneInBackground = () => void prune()?.catch(() => undefined);
          pruneInBackground();
          pruneTimer = setInterval(pruneInBackground, PRUNE_EVERY_MS);
        },
        (err: Error) => status.now('error', `database failed: ${err.message}`),
      );

    const run = async (cmd: GatewayCommand): Promise<unknown> => {
      switch (cmd.command) {
        case 'enrolment': {
          const until = enrolment.open(cmd.minutes);
          node.log(until ? `enrolment open for ${cmd.minutes} min` : 'enrolment closed');
          show();
          return { open: until > 0, closesAt: until ? new Date(until).toISOString() : null };
        }
        case 'register':
          await needStore().registerCamera(cmd.cameraId, 'admin');
          node.log(`camera ${cmd.cameraId} registered`);
          return { cameraId: cmd.cameraId, registered: true };
        case 'unregister':
          return { cameraId: cmd.cameraId, registered: false, removed: await needStore().unregisterCamera(cmd.cameraId) };
        case 'cameras':
          return { settings: [...configured.ids], registered: await needStore().cameras(), enrolmentOpen: enrolment.isOpen() };
        case 'usage':
          return diskUse(needStore(), uploadsRoot);
        case 'prune':
          return (await prune()) ?? { files: 0, folders: 0, failures: [] };
        case 'snapshot': {
          const kept = await storeSnapshot(cmd, { uploadsRoot, store: needStore() }).catch((err: Error) => {
            rejected({ cameraId: cmd.deviceId, eventId: cmd.eventId }, err);
            throw err;
          });
          stored++;
          show();
          return kept;
        }
      }
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      const reply = msg as NodeMessageInFlow & { statusCode?: number };
      let cmd: GatewayCommand;
      try {
        cmd = parseCommand(msg.topic, msg.payload);
      } catch (err) {
        // A device's picture that is no picture is bad device input: counted like a refused upload.
        if (msg.topic === 'snapshot' || msg.topic === 'alert/snapshot') {
          const p = (msg.payload ?? {}) as { deviceId?: unknown; eventId?: unknown };
          rejected({ cameraId: String(p.deviceId ?? ''), eventId: String(p.eventId ?? '') }, err as Error);
        }
        reply.payload = { error: (err as Error).message };
        reply.statusCode = 400;
        send([null, reply]);
        return done(err as Error);
      }
      run(cmd).then(
        (result) => {
          reply.payload = result;
          reply.statusCode = 200;
          send([null, reply]);
          done();
        },
        (err: Error) => {
          reply.payload = { error: err.message };
          reply.statusCode = 503;
          send([null, reply]);
          done(err);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(pruneTimer);
      unmount();
      closing.abort();
      const serverClosed = server
        ? new Promise<void>((ok) => {
            server!.close(() => ok());
            server!.closeAllConnections();
          })
        : Promise.resolve();
      serverClosed
        .then(() => Promise.allSettled(hlsJobs))
        .then(() => db.release(node))
        .then(done, (err: Error) => {
          node.error(`closing: ${err.message}`);
          done();
        });
    });
  }
  RED.nodes.registerType('hivecam-gateway', HivecamGateway as unknown as NodeConstructor);
}

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
import { gatewayHandler } from './gateway-server';
import { makeHls } from './hls';
import { mediaRouter } from './media-routes';
import { diskUse, pruneUploads } from './retention';
import { HttpError, receiveUpload } from './upload-receiver';
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
    const tmpDir = join(uploadsRoot, '.incoming');
    const port = numberSetting(def.port, 8080);
    const maxUploadBytes = numberSetting(def.maxUploadMB, 256) * 1024 * 1024;
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
      if (!uploads) throw new Error('the database is not open yet');
      return uploads;
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
        const job = makeHls(recording.filePath, join(accepted.dir, 'hls'), { ffmpeg, signal: closing.signal })
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
        const received = await receiveUpload(req, query, { tmpDir, maxBytes: maxUploadBytes });
        try {
          const store = needStore();
          const known = configured.ids.has(received.cameraId) || (await store.camera(received.cameraId));
          if (!known) throw new HttpError(403, `camera ${received.cameraId} is not registered`);
          const accepted = await acceptUpload(received, { uploadsRoot, limits, store });
          afterUpload(accepted);
          return accepted;
        } catch (err) {
          refused++;
          show();
          emit(null, event('rejected', { cameraId: received.cameraId, eventId: received.eventId, error: (err as Error).message }));
          throw err;
        } finally {
          await rm(received.zipPath, { force: true });
        }
      },
      limiter,
      trustedProxies: trustedProxiesFromSettings(RED.settings, (m) => node.warn(m)),
      log: (line) => node.log(line),
      warn: (line) => node.warn(line),
    });

    const prune = () =>
      uploads &&
      pruneUploads(uploads, uploadsRoot, retainDays).then(
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
    db.acquire(node).then(
      (s) => {
        uploads = s.uploads();
        mkdirSync(tmpDir, { recursive: true, mode: 0o750 });
        const tls = def.https
          ? { cert: readFileSync(join(certDir, CERT_FILE_NAMES.brokerCert)), key: readFileSync(join(certDir, CERT_FILE_NAMES.brokerKey)) }
          : undefined;
        server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
        server.requestTimeout = 10 * 60_000; // a recording over a slow camera link
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
        void prune();
        pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
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
          const kept = await storeSnapshot(cmd, { uploadsRoot, store: needStore() });
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

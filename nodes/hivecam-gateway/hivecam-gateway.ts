/**
 * hivecam-gateway: what a VBC01 camera needs from the cloud besides the broker
 * (the real platform's config server, vbc01-protocol.md §3), served on its own
 * port because cameras cannot log in: its config (broker, topics, servers),
 * client certificates for registered or enrolling cameras, and ZIP uploads
 * whose thumbnails go to the alert nodes and whose recordings become HLS for
 * the dashboard (under the runtime's /api/media).
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { ffmpegInstalled } from '../lib/child-process';
import { FailureLimitsByKind } from '../lib/login-limiter';
import { sqlOf } from '../lib/store/dialect';
import { trustedProxiesFromSettings } from '../lib/client-address';
import { credentialSecret } from '../lib/secret-box';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter, ThrottledWarn } from '../lib/status';
import { DEVICE_ID_PATTERN, type AlertSnapshot } from '../lib/types';
import { useDatabase } from '../lib/database-user';
import { MEDIA_ROUTES_ROOT } from '../lib/contract/api-routes';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import type { EventStore } from '../lib/store/store';
import type { UploadStore } from '../lib/store/uploads';
import { CameraCertificateAuthority } from '../lib/camera-certs/authority';
import { CertificatesMissingError, decideAccess, EnrolmentWindow, loadCertBundle, parseCameraList } from './access';
import { acceptUpload, type AcceptedUpload } from './accept-upload';
import { parseCommand, type GatewayCommand } from './control';
import { acceptEventUpload } from './event-upload';
import { fileservice, type FileserviceDeps } from './fileservice';
import { publicBaseOf } from './public-base';
import { cameraConfig } from './camera-config';
import { GATEWAY_FAILURE_LIMITS, gatewayHandler, ServiceUnavailableError, type GatewayRequestKind } from './gateway-server';
import { gatewaySettings, type GatewaySettings, type HivecamGatewayProps } from './gateway-settings';
import { runCommand } from './gateway-commands';
import { cameraServer } from './transport';
import { makeHls } from './hls';
import { mediaRouter } from './media-routes';
import { diskUse } from './retention';
import { HttpError, type UploadIds } from './upload-receiver';
import { takeUpload, type UploadIntake } from './upload-intake';
import { PRUNE_EVERY_MS, UploadUpkeep } from './upkeep';
import { mountRouter } from '../lib/mount-router';

interface HivecamGatewayDef extends NodeDef, HivecamGatewayProps {
  database: string;
  cameras: string;
}

type Send = (msg: Array<NodeMessageInFlow | null>) => void;
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function HivecamGateway(this: Node, def: HivecamGatewayDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    let settings: GatewaySettings;
    try {
      settings = gatewaySettings(def, userDir);
    } catch (err) {
      node.error(`hivecam-gateway settings: ${(err as Error).message}`);
      status.now('error', 'bad settings (see the log)');
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error('hivecam-gateway: bad settings (see the log)')));
      return;
    }
    const { config, uploadsRoot, certDir, port, https } = settings;
    const hls = ffmpegInstalled(settings.ffmpeg);
    const tlsWarn = new ThrottledWarn((t) => node.warn(t), 60_000);
    const configured = parseCameraList(def.cameras, (id) => DEVICE_ID_PATTERN.test(id));
    if (configured.invalid.length) node.warn(`ignoring invalid camera ids in the settings: ${configured.invalid.join(', ')}`);
    // Always there, whatever the mode: a camera given its own certificate before a switch back
    // to the shared one still has it revoked when it is removed.
    const authority = new CameraCertificateAuthority(certDir);
    const perCamera = settings.certMode === 'per-camera';
    /** The camera's keys; a CA the runtime cannot use (missing, unreadable) is the admin's to fix: 503, logged. */
    const certificatesFor = (cameraId: string) =>
      perCamera
        ? authority.bundle(cameraId).catch((err: Error) => {
            throw new CertificatesMissingError(`cannot issue ${cameraId} its certificate: ${err.message}`);
          })
        : loadCertBundle(certDir);
    const limiter = new FailureLimitsByKind<GatewayRequestKind>(GATEWAY_FAILURE_LIMITS, {
      scopePrefix: 'gateway',
      warn: (m) => node.warn(m),
    });
    const db = RED.nodes.getNode(def.database) as PicamDatabaseNode | null;
    let uploads: UploadStore | undefined;
    let stored = 0;
    let refused = 0;
    let server: Server | undefined;
    let listening = '';
    let unmount = () => {};
    // ffmpeg jobs turning recordings into HLS: stopped and awaited on close.
    const closing = new AbortController();
    const hlsJobs = new Set<Promise<unknown>>();
    // A temporary older than any live upload's deadline is one a crash left behind.
    const upkeep = new UploadUpkeep(uploadsRoot, settings.retainDays, Math.max(2 * settings.uploadDeadlineMs, PRUNE_EVERY_MS), node);

    const show = () => {
      if (!listening) return;
      const open = enrolment.lastSeen();
      const enrol = open ? `, enrolment open ${Math.ceil((open - Date.now()) / 60_000)} min` : '';
      status.now(refused ? 'warn' : 'ok', `${listening}${enrol} · ${stored} uploads${refused ? `, ${refused} refused` : ''}`);
    };
    const event = (topic: string, payload: unknown): NodeMessageInFlow => ({ topic, payload }) as NodeMessageInFlow;
    const emit = (snapshot: AlertSnapshot | null, info: NodeMessageInFlow | null) =>
      node.send([snapshot ? ({ topic: 'snapshot', payload: snapshot } as NodeMessageInFlow) : null, info]);

    const needStore = (): UploadStore => {
      if (!uploads) throw new ServiceUnavailableError('the database is not open yet');
      return uploads;
    };
    // In the store: opened through one runtime of a cluster, open on all.
    const enrolment = new EnrolmentWindow(needStore);
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
        const job = makeHls(recording.filePath, join(accepted.dir, 'hls'), { uploadsRoot, ffmpeg: settings.ffmpeg, signal: closing.signal })
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

    const trustedProxies = trustedProxiesFromSettings(RED.settings, (m) => node.warn(m));
    const intake: UploadIntake = {
      receive: {
        tmpDir: settings.tmpDir,
        maxBytes: settings.maxUploadBytes,
        idleMs: settings.uploadIdleMs,
        deadlineMs: settings.uploadDeadlineMs,
        admit: ({ cameraId }) => admitCamera(cameraId),
      },
      rejected,
      accepted: afterUpload,
    };
    const fileserviceDeps: FileserviceDeps = {
      admit: admitCamera,
      // What a trusted proxy says the camera dialled, else the URL set for cameras, else this connection (public-base.ts).
      publicBase: (req) => publicBaseOf(req, { trustedProxies, configured: settings.publicUrlSet ? config.publicUrl : '' }),
      upload: (req, target) =>
        takeUpload(
          req,
          new URLSearchParams({ camera_id: target.cameraId, event_id: target.eventId }),
          target,
          true,
          (received) => acceptEventUpload(received, target, { uploadsRoot, limits: settings.zipLimits, store: needStore() }),
          intake,
        ),
    };

    const handler = gatewayHandler({
      config: (cameraId) => cameraConfig(cameraId, config),
      access: async (cameraId) =>
        decideAccess(cameraId, {
          inSettings: configured.ids.has(cameraId),
          registered: await needStore().camera(cameraId),
          windowOpen: await enrolment.isOpen(),
        }),
      certificates: certificatesFor,
      certificateIssued: async (cameraId, via) => {
        const store = needStore();
        if (via !== 'registered') await store.registerCamera(cameraId, via === 'enrolment' ? 'enrolment' : 'admin');
        await store.certificateIssued(cameraId);
        emit(null, event('certificate', { cameraId, via }));
      },
      upload: (req, query) =>
        takeUpload(
          req,
          query,
          { cameraId: query.get('camera_id') ?? undefined, eventId: query.get('event_id') ?? undefined },
          false,
          (received) => acceptUpload(received, { uploadsRoot, limits: settings.zipLimits, store: needStore() }),
          intake,
        ),
      fileservice: (req, parts) => fileservice(req, parts, fileserviceDeps),
      limiter,
      trustedProxies,
      log: (line) => node.log(line),
      warn: (line) => node.warn(line),
    });

    const serve = async (s: EventStore) => {
      mkdirSync(settings.tmpDir, { recursive: true, mode: 0o750 });
      // Nothing is uploading before the server listens: every temporary left is stale.
      await upkeep.sweep(0);
      if (dbUser.closing) return; // closed while the database was opening
      uploads = s.uploads();
      // Runtimes sharing the store (the cluster role) count cameras' failures together: any of them may get the next request.
      limiter.share(sqlOf(s).shared ? s.loginFailures() : undefined);
      try {
        server = cameraServer(settings.transport, handler);
      } catch (err) {
        // The dashboard's media routes below still work: only the cameras' side is down.
        status.now('error', 'no HTTPS certificate: not serving cameras');
        node.error(`cannot serve cameras over HTTPS: ${(err as Error).message}`);
      }
      if (server) {
        // A camera that does not trust our CA (curl error 51 on its side) shows here.
        server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string }) =>
          tlsWarn.warnNow(`TLS handshake with ${socket.remoteAddress ?? 'a client'} failed: ${err.message}`),
        );
        // The upload receiver cuts bodies off with a clear 408 first; this is Node's backstop.
        server.requestTimeout = settings.uploadDeadlineMs + 60_000;
        server.on('error', (err: NodeJS.ErrnoException) => {
          const hint = err.code === 'EACCES' ? ' (ports below 1024 need CAP_NET_BIND_SERVICE: see the README, "Port 80")' : '';
          status.now('error', `port ${port}: ${err.code ?? err.message}`);
          node.error(`cannot serve cameras on port ${port}: ${err.message}${hint}`);
        });
        server.listen(port, settings.bind, () => {
          const address = server!.address();
          listening = `${https ? 'https' : 'http'} :${typeof address === 'object' && address ? address.port : port}`;
          const certs = perCamera ? `a certificate per camera from the CA in ${certDir}` : `the shared certificate from ${certDir}`;
          node.log(`serving cameras on ${listening}; uploads in ${uploadsRoot}; ${certs}`);
          show();
        });
      }
      unmount = mountRouter(
        RED,
        MEDIA_ROUTES_ROOT,
        mediaRouter({
          store: () => uploads,
          usage: () => diskUse(needStore(), uploadsRoot),
          hlsAvailable: () => hls,
          // The signed picture links of Web Push alerts are checked with the key that signed them.
          linkSecret: credentialSecret(RED.settings as { credentialSecret?: unknown }),
        }),
      );
      upkeep.start(uploads);
      // The CRL Mosquitto reads: there before any camera is removed, its dates fresh at every start.
      if (perCamera)
        authority.refreshCrl().then(
          (file) => node.log(`camera certificate revocation list: ${file}`),
          (err: Error) => node.warn(`per-camera certificates: cannot write the revocation list: ${err.message}`),
        );
    };

    const run = (cmd: GatewayCommand): Promise<unknown> =>
      runCommand(cmd, {
        store: needStore,
        enrolment,
        configured: configured.ids,
        uploadsRoot,
        certificates: { mode: settings.certMode, revoke: (id) => authority.revoke(id), list: () => authority.list() },
        prune: () => upkeep.prune(),
        changed: show,
        snapshotStored: () => {
          stored++;
          show();
        },
        snapshotRefused: (cameraId, eventId, err) => rejected({ cameraId, eventId }, err),
        log: (line) => node.log(line),
      });

    const command = (msg: NodeMessageInFlow, send: Send, done: Done) => {
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
        (err: Error) => unavailable(msg, send, done, err),
      );
    };
    const unavailable = (msg: NodeMessageInFlow, send: Send, done: Done, err: Error) => {
      send([null, Object.assign(msg, { statusCode: 503, payload: { error: err.message } })]);
      done(err);
    };

    const dbUser = useDatabase<EventStore, Send>({
      node,
      database: db,
      status,
      ready: serve,
      input: (_s, msg, send, done) => command(msg, send, done),
      refuse: unavailable,
      close: async () => {
        limiter.share(undefined);
        upkeep.stop();
        unmount();
        closing.abort();
        if (server) {
          const s = server;
          await new Promise<void>((ok) => {
            s.close(() => ok());
            s.closeAllConnections();
          });
        }
        await Promise.allSettled(hlsJobs);
      },
    });
  }
  RED.nodes.registerType('hivecam-gateway', HivecamGateway as unknown as NodeConstructor);
}

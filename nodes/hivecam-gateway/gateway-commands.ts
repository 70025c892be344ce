/**
 * What the gateway does for a command from the flow (control.ts parses them):
 * open enrolment, register or unregister a camera, list cameras, report disk
 * use, prune now, keep a device's snapshot. The answer goes back on the node's
 * second output (an HTTP reply when the command came from an http-in node).
 */
import type { IssuedCertificate } from '../lib/camera-certs/authority';
import type { CameraCertMode } from '../lib/settings';
import type { UploadStore } from '../lib/store/uploads';
import type { EnrolmentWindow } from './access';
import { storeSnapshot } from './accept-upload';
import type { GatewayCommand } from './control';
import { diskUse, type PruneResult } from './retention';

export interface CommandDeps {
  store(): UploadStore;
  enrolment: EnrolmentWindow;
  /** camera ids from the node's settings */
  configured: ReadonlySet<string>;
  uploadsRoot: string;
  /** per-camera certificates: revoked when their camera is removed, listed with the cameras */
  certificates: { mode: CameraCertMode; revoke(cameraId: string): Promise<string[]>; list(): Promise<IssuedCertificate[]> };
  prune(): Promise<PruneResult | undefined>;
  /** the status line changed (enrolment, counts) */
  changed(): void;
  /** a snapshot kept (counted like an upload) or refused */
  snapshotStored(): void;
  snapshotRefused(cameraId: string, eventId: string, err: Error): void;
  log(line: string): void;
}

export async function runCommand(cmd: GatewayCommand, deps: CommandDeps): Promise<unknown> {
  switch (cmd.command) {
    case 'enrolment': {
      const until = await deps.enrolment.open(cmd.minutes);
      deps.log(until ? `enrolment open for ${cmd.minutes} min` : 'enrolment closed');
      deps.changed();
      return { open: until > 0, closesAt: until ? new Date(until).toISOString() : null };
    }
    case 'register':
      await deps.store().registerCamera(cmd.cameraId, 'admin');
      deps.log(`camera ${cmd.cameraId} registered`);
      return { cameraId: cmd.cameraId, registered: true };
    case 'unregister': {
      // Revoked first: should that fail, the camera stays registered and the admin sees why.
      const revoked = await deps.certificates.revoke(cmd.cameraId);
      if (revoked.length) deps.log(`camera ${cmd.cameraId}: certificate ${revoked.join(', ')} revoked`);
      const removed = await deps.store().unregisterCamera(cmd.cameraId);
      return { cameraId: cmd.cameraId, registered: false, removed, revokedCertificates: revoked };
    }
    case 'cameras': {
      const closesAt = await deps.enrolment.closesAt();
      deps.changed();
      return {
        settings: [...deps.configured],
        registered: await deps.store().cameras(),
        enrolmentOpen: closesAt > 0,
        // the admin page's countdown (ISO time, null when closed)
        enrolmentClosesAt: closesAt ? new Date(closesAt).toISOString() : null,
        certificateMode: deps.certificates.mode,
        certificates: await deps.certificates.list(),
      };
    }
    case 'usage':
      return diskUse(deps.store(), deps.uploadsRoot);
    case 'prune':
      return (await deps.prune()) ?? { files: 0, folders: 0, failures: [], failed: 0 };
    case 'snapshot': {
      const kept = await storeSnapshot(cmd, { uploadsRoot: deps.uploadsRoot, store: deps.store() }).catch((err: Error) => {
        deps.snapshotRefused(cmd.deviceId, cmd.eventId, err);
        throw err;
      });
      deps.snapshotStored();
      return kept;
    }
  }
}

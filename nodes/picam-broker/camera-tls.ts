/**
 * The settings of the cameras' mutual-TLS listener, read once at deploy: the
 * port, our CA and the broker's certificate (made by `picam-guardian certs`),
 * and who counts as a registered camera (the settings' list, then the
 * gateway's registry in the database, opened only while the broker runs).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Node } from 'node-red';
import { CERT_FILE_NAMES } from '../lib/cert-files';
import { numberSetting } from '../lib/node-config';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import type { UploadStore } from '../lib/store/uploads';
import { watch } from 'node:fs';
import { CAMERA_CRL_FILE, CameraCertificateAuthority } from '../lib/camera-certs/authority';
import { parseCameraCertMode } from '../lib/settings';
import { parseCameraIds, type CameraRegistry, type CertificateCheck } from './camera-login';

export interface CameraTlsSettings {
  port: string | number | undefined;
  certDir: string;
  /** `shared` (default) or `per-camera` (`${PICAM_CERT_MODE}`) */
  certMode?: string;
  userDir: string;
  cameras: string;
  database: PicamDatabaseNode | null;
  /** the broker node, as the database's user */
  user: Node;
}

export interface CameraTls {
  port: number;
  files: { ca: Buffer; cert: Buffer; key: Buffer };
  registry: CameraRegistry;
  /** per-camera mode: checks a certificate against the authority's index; undefined in the shared mode */
  certificates?: CertificateCheck;
  /**
   * per-camera mode: calls `changed` whenever the gateway writes the CRL (it does at every
   * revocation), so the broker can end a removed camera's connection; returns the stop function.
   */
  watchRevocations(changed: () => void): () => void;
  close(): Promise<void>;
}

/** The listener's setup, or undefined when it is off (no port) or cannot run (reported through `warn`). */
export function cameraTls(s: CameraTlsSettings, warn: (text: string) => void): CameraTls | undefined {
  if (s.port === '' || s.port === undefined || s.port === null) return undefined;
  const port = numberSetting(s.port, -1);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    warn(`the camera TLS port must be a TCP port number (got ${JSON.stringify(s.port)}): no camera listener`);
    return undefined;
  }
  const dir = s.certDir ? (isAbsolute(s.certDir) ? s.certDir : join(s.userDir, s.certDir)) : join(s.userDir, 'certs');
  let perCamera: boolean;
  try {
    perCamera = parseCameraCertMode(s.certMode) === 'per-camera';
  } catch (err) {
    // Falling back to the shared mode would let the shared certificate in where the admin meant to stop it.
    warn(`no camera TLS listener: ${(err as Error).message}`);
    return undefined;
  }
  let files: CameraTls['files'];
  try {
    const read = (name: string) => readFileSync(join(dir, name));
    files = { ca: read(CERT_FILE_NAMES.caCert), cert: read(CERT_FILE_NAMES.brokerCert), key: read(CERT_FILE_NAMES.brokerKey) };
  } catch (err) {
    warn(
      `no camera TLS listener: ${(err as Error).message} (make the certificates with "picam-guardian certs --dir ${dir} --host <broker name>")`,
    );
    return undefined;
  }
  const listed = parseCameraIds(s.cameras);
  if (listed.invalid.length) warn(`ignoring camera ids that are not 32 upper-case hex digits: ${listed.invalid.join(', ')}`);
  let store: Promise<UploadStore> | undefined;
  let acquired = false;
  const registry: CameraRegistry = async (id) => {
    if (listed.ids.has(id)) return true;
    if (!s.database) return false;
    acquired = true;
    store ??= s.database
      .acquire(s.user)
      .then((events) => events.uploads())
      .catch((err: Error) => {
        store = undefined; // the next camera tries again
        throw err;
      });
    return !!(await (await store).camera(id));
  };
  const authority = perCamera ? new CameraCertificateAuthority(dir) : undefined;
  return {
    port,
    files,
    registry,
    certificates: authority && ((serial, cameraId) => authority.status(serial, cameraId)),
    watchRevocations: (changed) => {
      if (!authority) return () => undefined;
      try {
        // The folder, not the file: the CRL is replaced by rename, and may not exist yet.
        const watcher = watch(dir, (_event, name) => name === CAMERA_CRL_FILE && changed());
        watcher.on('error', (err) => warn(`stopped watching ${dir} for revoked cameras: ${err.message}`));
        return () => watcher.close();
      } catch (err) {
        warn(`cannot watch ${dir} for revoked cameras (a removed camera stays connected until it reconnects): ${(err as Error).message}`);
        return () => undefined;
      }
    },
    close: async () => {
      // also after a failed open: the database counts this user until it releases
      if (acquired && s.database) await s.database.release(s.user);
    },
  };
}

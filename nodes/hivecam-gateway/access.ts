/**
 * Who gets the camera client key. The real platform's config server hands it
 * to any id (vbc01-protocol.md §3.2); ours only to a camera the admin registered
 * (in the node's settings or through the API) or to one that asks while the
 * admin has the enrolment window open, which registers it: the key is the one
 * every camera shares, so handing it to anyone would let anyone log in to the
 * broker as a camera. With per-camera certificates the same rule decides who
 * gets one issued (nodes/lib/camera-certs/authority.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CERT_FILE_NAMES } from '../lib/cert-files';
import type { RegisteredCamera } from '../lib/store/uploads';

/**
 * `GET /hivecam/cert/{camera_id}`'s answer with the keys the firmware reads
 * (§3.2), each PEM trimmed. Seed 004's names (`caCert`, `clientCert`,
 * `clientKey`) are not sent: no camera reads them, and the answer would carry
 * the private key twice.
 */
export interface CertBundle {
  certificatePem: string;
  privateKey: string;
  caCertificate: string;
}

export type AccessDecision = { allowed: true; via: 'registered' | 'settings' | 'enrolment' } | { allowed: false; reason: string };

/** Where the window is kept: the store (UploadStore, migration 27), so every runtime sharing it sees one window. */
export interface EnrolmentStore {
  /** epoch ms the window closes at, 0 when closed */
  enrolmentClosesAt(nowMs?: number): Promise<number>;
  setEnrolment(closesMs: number, nowMs?: number): Promise<void>;
}

/**
 * The enrolment window an admin opens for new cameras. Kept in the store, not in this runtime:
 * in the cluster role a camera's request may reach any runtime, and the window opened through
 * one must be open on all (and it outlives a redeploy on one box as well).
 */
export class EnrolmentWindow {
  /** when the window closes, as this runtime last read or set it: for the status line, never for a decision */
  private seenMs = 0;

  constructor(private readonly store: () => EnrolmentStore) {}

  /** Opens the window for `minutes` from now (0 closes it). Resolves to when it closes (0: closed). */
  async open(minutes: number, nowMs = Date.now()): Promise<number> {
    if (!Number.isFinite(minutes) || minutes < 0 || minutes > 24 * 60) {
      throw new RangeError(`enrolment minutes must be between 0 and 1440 (got ${minutes})`);
    }
    const until = minutes === 0 ? 0 : nowMs + minutes * 60_000;
    await this.store().setEnrolment(until, nowMs);
    this.seenMs = until;
    return until;
  }

  /** Epoch ms the window closes at, or 0 when closed: asked of the store. */
  async closesAt(nowMs = Date.now()): Promise<number> {
    this.seenMs = await this.store().enrolmentClosesAt(nowMs);
    return this.seenMs;
  }

  async isOpen(nowMs = Date.now()): Promise<boolean> {
    return (await this.closesAt(nowMs)) > 0;
  }

  /** What this runtime last saw (another runtime may have changed it since): the status line's. */
  lastSeen(nowMs = Date.now()): number {
    return this.seenMs > nowMs ? this.seenMs : 0;
  }
}

/** Camera ids listed in the node's settings: comma or space separated. */
export function parseCameraList(raw: string | undefined, isValid: (id: string) => boolean): { ids: Set<string>; invalid: string[] } {
  const ids = new Set<string>();
  const invalid: string[] = [];
  for (const id of (raw ?? '').split(/[\s,]+/).filter(Boolean)) isValid(id) ? ids.add(id) : invalid.push(id);
  return { ids, invalid };
}

export function decideAccess(
  cameraId: string,
  known: { registered?: RegisteredCamera; inSettings: boolean; windowOpen: boolean },
): AccessDecision {
  if (known.inSettings) return { allowed: true, via: 'settings' };
  if (known.registered) return { allowed: true, via: 'registered' };
  if (known.windowOpen) return { allowed: true, via: 'enrolment' };
  return {
    allowed: false,
    reason: `camera ${cameraId} is not registered and enrolment is closed (open it, or register the camera, then retry)`,
  };
}

export class CertificatesMissingError extends Error {
  override readonly name = 'CertificatesMissingError';
}

/** Read at every request, so `picam-guardian certs --renew` takes effect without a redeploy. */
export async function loadCertBundle(dir: string): Promise<CertBundle> {
  const read = async (file: string) => {
    const path = join(dir, file);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CertificatesMissingError(
        code === 'ENOENT'
          ? `${path} does not exist: run "npm run certs" (picam-guardian certs --dir ${dir})`
          : `cannot read ${path}: ${code}`,
      );
    }
  };
  const [caCertificate, certificatePem, privateKey] = await Promise.all([
    read(CERT_FILE_NAMES.caCert),
    read(CERT_FILE_NAMES.clientCert),
    read(CERT_FILE_NAMES.clientKey),
  ]);
  return { certificatePem: certificatePem.trim(), privateKey: privateKey.trim(), caCertificate: caCertificate.trim() };
}

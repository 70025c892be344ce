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

export class EnrolmentWindow {
  private untilMs = 0;

  /** Opens the window for `minutes` from now (0 closes it). Returns when it closes. */
  open(minutes: number, nowMs = Date.now()): number {
    if (!Number.isFinite(minutes) || minutes < 0 || minutes > 24 * 60) {
      throw new RangeError(`enrolment minutes must be between 0 and 1440 (got ${minutes})`);
    }
    this.untilMs = minutes === 0 ? 0 : nowMs + minutes * 60_000;
    return this.untilMs;
  }

  isOpen(nowMs = Date.now()): boolean {
    return this.untilMs > nowMs;
  }

  /** Epoch ms the window closes at, or 0 when closed. */
  closesAt(nowMs = Date.now()): number {
    return this.isOpen(nowMs) ? this.untilMs : 0;
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

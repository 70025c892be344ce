/**
 * The login of VBC01 cameras on the mutual-TLS listener, as real cameras
 * connect (vbc01-protocol.md §2, §4): TLS on 8883 with the ONE client
 * certificate every camera shares and no password. The TLS layer has already
 * checked that certificate against our CA; what is left is the client id,
 * which the firmware sets to its camera id. Because every camera holds the
 * same certificate, the certificate cannot say which camera it is: the client
 * id must be a camera the admin registered (in the settings or through the
 * gateway's enrolment), and the per-device ACL keeps it to that id's topics.
 * With per-camera certificates (PICAM_CERT_MODE=per-camera) the certificate
 * does say it, and the client id must agree with it (certificateRefusal).
 */
import type { CertificateStatus } from '../lib/camera-certs/authority';
import { VBC01_CAMERA_ID } from '../lib/vbc01';
import type { PeerCertificate } from './access';

/**
 * Per-camera certificates (PICAM_CERT_MODE=per-camera): the certificate's serial, as the
 * authority that issued it to `cameraId` knows it (nodes/lib/camera-certs/authority.ts).
 */
export type CertificateCheck = (serial: string, cameraId: string) => Promise<CertificateStatus>;

/** Answers whether a camera id is registered (settings list, then the gateway's registry). */
export type CameraRegistry = (cameraId: string) => Promise<boolean>;

/** Camera ids listed in the node's settings (`${PICAM_CAMERAS}`): comma or space separated; others are ignored. */
export function parseCameraIds(raw: string | undefined): { ids: Set<string>; invalid: string[] } {
  const ids = new Set<string>();
  const invalid: string[] = [];
  for (const id of (raw ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (VBC01_CAMERA_ID.test(id)) ids.add(id);
    else invalid.push(id);
  }
  return { ids, invalid };
}

/** Why a certificate-authenticated client may not connect with this id, or undefined when it may. */
export async function cameraRefusal(clientId: string, registry: CameraRegistry | undefined): Promise<string | undefined> {
  if (!VBC01_CAMERA_ID.test(clientId)) return `client id "${clientId.slice(0, 64)}" is not a camera id (32 upper-case hex digits)`;
  if (!registry) return 'no camera registry is configured for the certificate listener';
  if (!(await registry(clientId))) return `camera ${clientId} is not registered (register it, or let it enrol at the gateway)`;
  return undefined;
}

/** Why a refused certificate login is refused: MQTT's return code and the reason for the log. */
export interface CertificateRefusal {
  /** 2: identifier rejected (the client id is not the certificate's); 5: not authorised */
  code: 2 | 5;
  reason: string;
}

/**
 * In per-camera mode the certificate, not the client id, says which camera this is: its
 * common name must be a camera id, the client id must be that same id (so one camera cannot
 * take another's session or speak for it), and the certificate must be one our authority
 * issued to that camera and has not revoked (a removed camera's, or the shared one, is not).
 */
export async function certificateRefusal(
  clientId: string,
  certificate: PeerCertificate | undefined,
  check: CertificateCheck,
): Promise<CertificateRefusal | undefined> {
  const cn = certificate?.cn ?? '';
  if (!certificate || !VBC01_CAMERA_ID.test(cn))
    return {
      code: 5,
      reason: `the certificate names no camera (CN ${JSON.stringify(cn.slice(0, 64))}): per-camera mode needs the camera's own`,
    };
  if (clientId !== cn) return { code: 2, reason: `client id "${clientId.slice(0, 64)}" is not the certificate's camera ${cn}` };
  const status = await check(certificate.serial, cn);
  if (status === 'revoked') return { code: 5, reason: `the certificate of camera ${cn} (serial ${certificate.serial}) is revoked` };
  if (status === 'unknown')
    return { code: 5, reason: `the certificate of camera ${cn} (serial ${certificate.serial}) was not issued here` };
  return undefined;
}

/**
 * The login of VBC01 cameras on the mutual-TLS listener, as real cameras
 * connect (vbc01-protocol.md §2, §4): TLS on 8883 with the ONE client
 * certificate every camera shares and no password. The TLS layer has already
 * checked that certificate against our CA; what is left is the client id,
 * which the firmware sets to its camera id. Because every camera holds the
 * same certificate, the certificate cannot say which camera it is: the client
 * id must be a camera the admin registered (in the settings or through the
 * gateway's enrolment), and the per-device ACL keeps it to that id's topics.
 */
import { VBC01_CAMERA_ID } from '../lib/vbc01';

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

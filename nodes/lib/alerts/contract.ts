/**
 * Reads an alert node's input against the alert contract (nodes/lib/types.ts):
 * an `Alert`, an `AlertSnapshot`, or a plain string from any flow (a free-text
 * alert). Anything else is refused with a reason the user can act on; image
 * paths are read here, once, so the outbox holds the bytes even if the file
 * is rotated away before the alert is delivered.
 */
import { readFile, stat } from 'node:fs/promises';
import { ALERT_KINDS, ALERT_SEVERITIES, CAMERA_MODES, type Alert, type AlertKind, type AlertSnapshot } from '../types';
import { ANY_DEVICE_ID_PATTERN } from '../hosted-devices';
import type { ClipReadyPayload } from '../contract/recordings';
import { isClipTopic, readClip } from './clip';
import { MAX_PICTURE_BYTES } from '../uploads/picture';

export type AlertInput =
  | { type: 'alert'; alert: Alert; image?: Buffer; imageProblem?: string }
  | { type: 'snapshot'; snapshot: AlertSnapshot; image: Buffer }
  | { type: 'clip'; clip: ClipReadyPayload }
  | { type: 'invalid'; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * A camera node's picture as the camera node sends it (rpicam-rtsp and ipcam: `topic` "snapshot",
 * the JPEG as `payload`, the `deviceId` and the `requestId` it answers on the message), taken as the
 * AlertSnapshot it is, so a flow wires a camera node's pictures straight into an alert node.
 */
export function cameraPicture(msg: {
  topic?: unknown;
  payload?: unknown;
  deviceId?: unknown;
  requestId?: unknown;
  eventId?: unknown;
  timeMs?: unknown;
}): AlertSnapshot | undefined {
  if (msg.topic !== 'snapshot' || !Buffer.isBuffer(msg.payload)) return undefined;
  const { deviceId, requestId, eventId, timeMs } = msg;
  return { kind: 'snapshot', deviceId, requestId, eventId, timeMs, image: msg.payload } as AlertSnapshot;
}

export async function readAlertInput(payload: unknown, topic: unknown, nowMs: number): Promise<AlertInput> {
  if (isClipTopic(topic)) {
    const clip = readClip(payload, topic);
    return typeof clip === 'string' ? { type: 'invalid', reason: clip } : { type: 'clip', clip };
  }
  if (typeof payload === 'string') {
    if (!payload.trim()) return { type: 'invalid', reason: 'msg.payload is an empty string' };
    const deviceId = typeof topic === 'string' && topic ? topic : 'flow';
    return {
      type: 'alert',
      alert: { kind: 'text', deviceId, deviceName: deviceId, timeMs: nowMs, severity: 'info', text: payload },
    };
  }
  if (!isRecord(payload)) return { type: 'invalid', reason: 'msg.payload must be an alert object or a string' };
  if (payload.kind === 'snapshot') return readSnapshot(payload, nowMs);

  const p = payload;
  if (!ALERT_KINDS.includes(p.kind as AlertKind)) {
    return { type: 'invalid', reason: `alert kind must be one of ${ALERT_KINDS.join(', ')} or snapshot (got ${JSON.stringify(p.kind)})` };
  }
  if (typeof p.deviceId !== 'string' || !p.deviceId) return { type: 'invalid', reason: 'alert deviceId must be a non-empty string' };
  if (typeof p.text !== 'string') return { type: 'invalid', reason: 'alert text must be a string' };
  if (p.timeMs !== undefined && (typeof p.timeMs !== 'number' || !Number.isFinite(p.timeMs))) {
    return { type: 'invalid', reason: 'alert timeMs must be Unix milliseconds' };
  }
  if (p.severity !== undefined && !ALERT_SEVERITIES.includes(p.severity as Alert['severity'])) {
    return { type: 'invalid', reason: `alert severity must be one of ${ALERT_SEVERITIES.join(', ')}` };
  }
  if (p.eventId !== undefined && typeof p.eventId !== 'string') return { type: 'invalid', reason: 'alert eventId must be a string' };
  if (p.mode !== undefined && !CAMERA_MODES.includes(p.mode as Alert['mode'] & string)) {
    return { type: 'invalid', reason: `alert mode must be one of ${CAMERA_MODES.join(', ')}` };
  }
  if (p.zones !== undefined && !(Array.isArray(p.zones) && p.zones.every((z) => typeof z === 'string'))) {
    return { type: 'invalid', reason: 'alert zones must be a list of zone names' };
  }
  const alert = {
    ...p,
    deviceName: typeof p.deviceName === 'string' && p.deviceName ? p.deviceName : p.deviceId,
    timeMs: (p.timeMs as number | undefined) ?? nowMs,
    severity: (p.severity as Alert['severity'] | undefined) ?? 'info',
  } as Alert;
  delete alert.image;
  if (p.image === undefined) return { type: 'alert', alert };
  // A picture that cannot be read must not cost the user the alert: it goes out as text.
  const image = await loadImage(p.image);
  return typeof image === 'string' ? { type: 'alert', alert, imageProblem: image } : { type: 'alert', alert, image };
}

async function readSnapshot(p: Record<string, unknown>, nowMs: number): Promise<AlertInput> {
  if (typeof p.deviceId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(p.deviceId)) {
    return { type: 'invalid', reason: `snapshot deviceId must match ${ANY_DEVICE_ID_PATTERN.source}` };
  }
  if (p.eventId === undefined && p.requestId === undefined) {
    return { type: 'invalid', reason: 'a snapshot needs the eventId of its alert or the requestId of a /snapshot request' };
  }
  if (p.eventId !== undefined && typeof p.eventId !== 'string') return { type: 'invalid', reason: 'snapshot eventId must be a string' };
  const image = await loadImage(p.image);
  if (typeof image === 'string') return { type: 'invalid', reason: `snapshot image: ${image}` };
  const snapshot = { ...p, timeMs: typeof p.timeMs === 'number' ? p.timeMs : nowMs } as AlertSnapshot;
  delete (snapshot as Partial<AlertSnapshot>).image;
  return { type: 'snapshot', snapshot, image };
}

/** The image's bytes, or why there are none. */
async function loadImage(image: unknown): Promise<Buffer | string> {
  let bytes: Buffer;
  if (Buffer.isBuffer(image)) bytes = image;
  else if (typeof image === 'string' && image) {
    try {
      // Its size before its bytes: a file too big to send is not read into memory first.
      const { size } = await stat(image);
      if (size > MAX_PICTURE_BYTES) return `image of ${size} bytes is over the ${MAX_PICTURE_BYTES}-byte limit`;
      bytes = await readFile(image);
    } catch (err) {
      return `cannot read ${image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  } else return 'image must be a Buffer or a file path';
  if (bytes.length === 0) return 'image is empty';
  if (bytes.length > MAX_PICTURE_BYTES) return `image of ${bytes.length} bytes is over the ${MAX_PICTURE_BYTES}-byte limit`;
  return bytes;
}

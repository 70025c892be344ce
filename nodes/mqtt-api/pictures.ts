/**
 * The pictures the MQTT API shows as a device's latest snapshot (and Home Assistant as its
 * camera image): a Pi's snapshot, an IP camera's answer, a VBC01 thumbnail, an alert's image.
 * Images are bytes or the path of a file the runtime wrote; files are read with a size cap.
 */
import { open } from 'node:fs/promises';

export interface Picture {
  deviceId: string;
  image: Buffer | string;
}

/** Large enough for a full-HD JPEG; a bigger file is no snapshot we made. */
export const MAX_PICTURE_BYTES = 8 * 1024 * 1024;

/** The picture a message carries, if any: `{topic: 'snapshot', payload: <jpeg>, deviceId}` or an alert/snapshot with `image`. */
export function pictureOf(msg: { topic?: unknown; payload?: unknown; deviceId?: unknown }): Picture | undefined {
  if (msg.topic === 'snapshot' && Buffer.isBuffer(msg.payload) && typeof msg.deviceId === 'string') {
    return { deviceId: msg.deviceId, image: msg.payload };
  }
  const list = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
  // The last picture of a batch is the newest.
  for (const item of [...list].reverse()) {
    const p = item as { deviceId?: unknown; image?: unknown } | null;
    if (p && typeof p === 'object' && typeof p.deviceId === 'string' && (Buffer.isBuffer(p.image) || typeof p.image === 'string')) {
      return { deviceId: p.deviceId, image: p.image as Buffer | string };
    }
  }
  return undefined;
}

export async function pictureBytes(image: Buffer | string): Promise<Buffer> {
  if (Buffer.isBuffer(image)) return image;
  const file = await open(image, 'r');
  try {
    const { size } = await file.stat();
    if (size > MAX_PICTURE_BYTES) throw new Error(`${image} holds ${size} bytes, more than a snapshot may (${MAX_PICTURE_BYTES})`);
    return await file.readFile();
  } finally {
    await file.close();
  }
}

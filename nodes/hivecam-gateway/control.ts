/**
 * The messages an admin (a flow, the API, an inject node) sends the gateway.
 * `msg.topic` names the command; its argument is in `msg.payload`.
 */
import { DEVICE_ID_PATTERN, EVENT_ID_PATTERN } from '../lib/types';
import { vbc01IdProblem } from '../lib/vbc01';
import { describeContent, EXPECTED_IMAGE, imageType } from '../lib/uploads/media-type';
import { readPicture } from '../lib/uploads/picture';
import { ANY_DEVICE_ID_PATTERN } from '../lib/hosted-devices';
import { writtenNumber } from '../lib/written-number';

export type GatewayCommand =
  | { command: 'enrolment'; minutes: number }
  | { command: 'register' | 'unregister'; cameraId: string }
  | { command: 'cameras' | 'usage' | 'prune' }
  /** a picture for an event that came over MQTT (mqtt-processor's `alert/snapshot`): kept like an upload */
  | { command: 'snapshot'; deviceId: string; eventId: string; image: Buffer };

export const COMMANDS = ['enrolment', 'register', 'unregister', 'cameras', 'usage', 'prune', 'snapshot'] as const;

/** Parses a control message; throws an Error that says what was wrong. */
export function parseCommand(topic: unknown, payload: unknown): GatewayCommand {
  const p = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
  switch (topic) {
    case 'enrolment': {
      const raw = typeof payload === 'number' || typeof payload === 'string' ? payload : p.minutes;
      // A number, or one written in digits: `[1]`, `true` or `null` are not minutes.
      const minutes = writtenNumber(raw, { fraction: true });
      if (!Number.isFinite(minutes) || minutes < 0 || minutes > 1440) {
        throw new Error(`enrolment needs payload.minutes between 0 (close) and 1440 (got ${JSON.stringify(raw)})`);
      }
      return { command: 'enrolment', minutes };
    }
    case 'register': {
      // A registration lets a camera have the shared key and log in to the broker, both by its VBC01 id only.
      const cameraId = typeof payload === 'string' ? payload : p.cameraId;
      const problem = vbc01IdProblem(cameraId);
      if (problem) throw new Error(`register needs payload.cameraId: ${problem}`);
      return { command: topic, cameraId: cameraId as string };
    }
    case 'unregister': {
      // Any device id: a registration made before ids were checked this strictly can still be removed.
      const cameraId = typeof payload === 'string' ? payload : p.cameraId;
      if (typeof cameraId !== 'string' || !DEVICE_ID_PATTERN.test(cameraId)) {
        throw new Error(`unregister needs payload.cameraId, a camera id (got ${JSON.stringify(cameraId)})`);
      }
      return { command: topic, cameraId };
    }
    case 'cameras':
    case 'usage':
    case 'prune':
      return { command: topic };
    case 'snapshot':
    case 'alert/snapshot': {
      const { deviceId, eventId, image } = p;
      if (typeof deviceId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(deviceId))
        throw new Error('snapshot needs payload.deviceId, a device id');
      if (typeof eventId !== 'string' || !EVENT_ID_PATTERN.test(eventId)) {
        throw new Error('snapshot needs payload.eventId: only pictures of an event are kept');
      }
      if (!Buffer.isBuffer(image)) throw new Error(`snapshot needs payload.image, the picture's bytes (${EXPECTED_IMAGE})`);
      // Checked by content: the picture is stored and served as a thumbnail.
      const picture = readPicture(image);
      if (typeof picture === 'string') {
        const what = imageType(image) ? picture : `${describeContent(image)}, not ${EXPECTED_IMAGE}`;
        throw new Error(`snapshot needs payload.image, a whole JPEG or PNG: it is ${what}`);
      }
      return { command: 'snapshot', deviceId, eventId, image };
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(topic)}: msg.topic must be one of ${COMMANDS.join(', ')}`);
  }
}

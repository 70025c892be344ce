/**
 * What command-sender accepts: mqtt-processor's output 3 (`msg.topic`,
 * `msg.payload` with its `requestId`, `msg.deviceId`, `msg.action`), or any
 * flow's MQTT-style message for a device. Checked before anything is queued.
 */
import { randomBytes } from 'node:crypto';
import { ANY_DEVICE_ID_PATTERN, commandTarget } from '../lib/hosted-devices';
import { LIVE_RELAY_TOPIC_TAIL } from '../lib/contract/live-relay';

export interface CommandDraft {
  commandId: string;
  deviceId: string;
  action: string;
  topic: string;
  payload: string;
}

export type ParsedCommand = { ok: true; command: CommandDraft } | { ok: false; error: string };

const COMMAND_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_PAYLOAD_BYTES = 64 * 1024;

const TOPIC_ACTIONS: Record<string, string> = {
  'system/setmode': 'setmode',
  'system/reboot': 'reboot',
  'settings/update': 'settings-update',
  'sound/play': 'sound-play',
  'sound/stop': 'sound-stop',
  [LIVE_RELAY_TOPIC_TAIL]: 'live',
};

/** The action from the topic's tail: `.../system/setmode` → setmode, `.../sound/play` → sound-play. */
function actionFromTopic(topic: string): string {
  const tail = topic.split('/').slice(-2).join('/');
  return TOPIC_ACTIONS[tail] ?? tail;
}

export function parseCommand(msg: { topic?: unknown; payload?: unknown; deviceId?: unknown; action?: unknown }): ParsedCommand {
  const fail = (error: string): ParsedCommand => ({ ok: false, error });
  const topic = msg.topic;
  if (typeof topic !== 'string' || topic === '' || /[#+\u0000]/.test(topic) || Buffer.byteLength(topic) > 1024) {
    return fail('msg.topic must be an MQTT topic to publish to (no wildcards)');
  }
  const p = msg.payload;
  let payload: string;
  if (Buffer.isBuffer(p)) payload = p.toString('utf8');
  else if (typeof p === 'string') payload = p;
  else if (p && typeof p === 'object') payload = JSON.stringify(p);
  else return fail('msg.payload must be the command (an object, or a JSON string)');
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return fail(`command payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);

  const fields = p && typeof p === 'object' && !Buffer.isBuffer(p) ? (p as { requestId?: unknown; sourceId?: unknown }) : {};
  const deviceId = [msg.deviceId, fields.sourceId, commandTarget(topic)].find((v) => typeof v === 'string' && v !== '');
  if (typeof deviceId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(deviceId)) {
    return fail(
      `the command names no valid device (msg.deviceId, payload.sourceId or the topic; must match ${ANY_DEVICE_ID_PATTERN.source})`,
    );
  }
  const requested = fields.requestId;
  if (requested !== undefined && (typeof requested !== 'string' || !COMMAND_ID.test(requested))) {
    return fail(`payload.requestId must match ${COMMAND_ID.source}`);
  }
  const commandId = (requested as string | undefined) ?? `req_${randomBytes(8).toString('hex')}`;
  const action = typeof msg.action === 'string' && msg.action !== '' ? msg.action : actionFromTopic(topic);
  return { ok: true, command: { commandId, deviceId, action, topic, payload } };
}

/**
 * Reads what arrives on the MQTT API's request and set topics into a command for the existing
 * path (mqtt-processor checks it as it checks an HTTP one, command-sender queues it), or into
 * the error answer the requester gets. Nothing here throws: every bad input has an answer.
 *
 *   {p}/request/{setmode|reboot|snapshot}   JSON {id, replyTo, deviceId, mode}; MQTT 5 clients
 *       may put the id in the correlation data and the place to answer in the response topic
 *   {p}/devices/{id}/mode/set               the mode as plain text (Home Assistant's select)
 *   {p}/devices/{id}/reboot/set             PRESS (Home Assistant's button)
 */
import { API_COMMANDS, isCameraMode, SET_TOPICS, type ApiCommand, type ApiTopics } from '../lib/contract/mqtt-api';
import { CAMERA_MODES } from '../lib/contract/camera-mode';
import { ANY_DEVICE_ID_PATTERN } from '../lib/hosted-devices';
import type { InboundMessage } from '../lib/mqtt/broker-link';
import type { CommandRequest } from '../lib/types';

/** Where and how to answer: the correlation id as the requester gave it. */
export interface ReplyTo {
  topic: string;
  /** the JSON `id`, or the MQTT 5 correlation data as text */
  id: string | null;
  correlationData?: Buffer;
}

export type ParsedRequest =
  | { ok: true; reply: ReplyTo; command: ApiCommand; deviceId: string; request?: CommandRequest }
  | { ok: false; reply: ReplyTo; code: 400; error: string };

const MAX_REQUEST_BYTES = 16 * 1024;
const CORRELATION_ID = /^[\x20-\x7e]{1,128}$/;

export function parseRequest(m: InboundMessage, api: ApiTopics): ParsedRequest | undefined {
  const set = setTopic(m.topic, api);
  if (set) return fromSetTopic(m, set.deviceId, set.what, api);
  const command = m.topic.slice(api.requestFilter.length - 1);
  if (m.topic.slice(0, api.requestFilter.length - 1) !== api.requestFilter.slice(0, -1)) return undefined;
  return fromRequestTopic(m, command, api);
}

function fromRequestTopic(m: InboundMessage, command: string, api: ApiTopics): ParsedRequest {
  // MQTT 5 properties first: they are readable even when the payload is not.
  const props: ReplyTo = {
    topic: m.responseTopic && api.isResponseTopic(m.responseTopic) ? m.responseTopic : api.responseRoot,
    id: m.correlationData ? m.correlationData.toString('utf8') : null,
    correlationData: m.correlationData,
  };
  const fail = (reply: ReplyTo, error: string): ParsedRequest => ({ ok: false, reply, code: 400, error });
  if (m.responseTopic && !api.isResponseTopic(m.responseTopic)) {
    return fail(props, `the response topic must be ${api.responseRoot} or below it (got "${m.responseTopic.slice(0, 100)}")`);
  }
  if (m.payload.length > MAX_REQUEST_BYTES) return fail(props, `a request may hold at most ${MAX_REQUEST_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(m.payload.toString('utf8'));
  } catch (err) {
    return fail(props, `the request is not JSON: ${(err as Error).message}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fail(props, 'the request must be a JSON object');
  const b = body as { id?: unknown; replyTo?: unknown; deviceId?: unknown; mode?: unknown };
  const reply: ReplyTo = { ...props };
  if (props.id === null && b.id !== undefined) {
    if (typeof b.id !== 'string' || !CORRELATION_ID.test(b.id)) return fail(reply, 'id must be text of 1 to 128 printable characters');
    reply.id = b.id;
  }
  if (!m.responseTopic && b.replyTo !== undefined) {
    if (typeof b.replyTo !== 'string' || !api.isResponseTopic(b.replyTo)) {
      return fail(reply, `replyTo must be ${api.responseRoot} or a topic below it`);
    }
    reply.topic = b.replyTo;
  }
  if (reply.id === null) {
    return fail(reply, 'no correlation id: give "id" in the request (or MQTT 5 correlation data), so the answer can be matched');
  }
  if (!(API_COMMANDS as readonly string[]).includes(command)) {
    return fail(reply, `unknown command "${command.slice(0, 64)}" (expected ${API_COMMANDS.join(', ')})`);
  }
  if (typeof b.deviceId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(b.deviceId)) {
    return fail(reply, `deviceId must be a device id (${ANY_DEVICE_ID_PATTERN.source})`);
  }
  const deviceId = b.deviceId;
  switch (command as ApiCommand) {
    case 'setmode':
      if (!isCameraMode(b.mode)) return fail(reply, `mode must be one of ${CAMERA_MODES.join(', ')}`);
      return { ok: true, reply, command: 'setmode', deviceId, request: { action: 'setmode', deviceId, mode: b.mode } };
    case 'reboot':
      return { ok: true, reply, command: 'reboot', deviceId, request: { action: 'reboot', deviceId } };
    case 'snapshot':
      return { ok: true, reply, command: 'snapshot', deviceId };
  }
}

/** A set topic has no requester waiting: its outcome is answered on the response root, without an id. */
function fromSetTopic(m: InboundMessage, deviceId: string, what: string, api: ApiTopics): ParsedRequest {
  const reply: ReplyTo = { topic: api.responseRoot, id: null };
  const text = m.payload.toString('utf8').trim();
  if (!ANY_DEVICE_ID_PATTERN.test(deviceId)) return { ok: false, reply, code: 400, error: `"${deviceId.slice(0, 64)}" is no device id` };
  if (!(SET_TOPICS as readonly string[]).includes(what)) {
    return { ok: false, reply, code: 400, error: `nothing to set at "${what.slice(0, 32)}" (expected ${SET_TOPICS.join(', ')})` };
  }
  if (what === 'mode') {
    if (!isCameraMode(text))
      return { ok: false, reply, code: 400, error: `mode must be one of ${CAMERA_MODES.join(', ')} (got "${text.slice(0, 32)}")` };
    return { ok: true, reply, command: 'setmode', deviceId, request: { action: 'setmode', deviceId, mode: text } };
  }
  return { ok: true, reply, command: 'reboot', deviceId, request: { action: 'reboot', deviceId } };
}

function setTopic(topic: string, api: ApiTopics): { deviceId: string; what: string } | undefined {
  const root = api.setFilter.split('/');
  const levels = topic.split('/');
  if (levels.length !== root.length) return undefined;
  for (let i = 0; i < root.length; i++) if (root[i] !== '+' && root[i] !== levels[i]) return undefined;
  const what = levels[root.length - 2]!;
  return { deviceId: levels[root.length - 3]!, what };
}

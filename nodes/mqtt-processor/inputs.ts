/**
 * Recognises what arrived on mqtt-processor's input: an MQTT message (from
 * `mqtt in`, or the aedes broker node's publish output), or a command request
 * (from the API's `http in`, or any flow that sets `msg.command`).
 */
import type { NodeMessageInFlow } from 'node-red';
import type { CommandAction, CommandRequest } from '../lib/types';

export type ProcessorInput =
  /** `resent`: the message comes again because the store could not take it: not a duplicate */
  | { type: 'device'; topic: string; payload: unknown; resent?: boolean }
  | { type: 'command'; request: CommandRequest }
  | { type: 'ignored'; reason: string }
  | { type: 'invalid'; reason: string };

interface HttpRequestLike {
  path?: string;
  originalUrl?: string;
  params?: Record<string, string>;
  body?: unknown;
}

/**
 * `POST /api/control/mode/{id}/{mode}`, `/reboot/{id}`, `/settings/{id}` (body: the
 * settings, flat), `/sound/{id}/{soundType}`, `/sound/{id}/stop` and `/live/{pi}.{camera}`
 * (body, optional: `{seconds}`; a Pi's hosted camera only), `/zones/{id}` (body: `{zones: [...]}`).
 */
const HTTP_ACTIONS: Record<string, CommandAction> = {
  mode: 'setmode',
  reboot: 'reboot',
  settings: 'settings-update',
  sound: 'sound-play',
  live: 'live',
  zones: 'zones',
};

export function classifyInput(msg: NodeMessageInFlow, prefix: string): ProcessorInput {
  const m = msg as NodeMessageInFlow & { command?: unknown; req?: HttpRequestLike; resent?: unknown };
  if (m.command !== undefined) {
    if (!m.command || typeof m.command !== 'object') return { type: 'invalid', reason: 'msg.command must be an object' };
    return { type: 'command', request: m.command as CommandRequest };
  }
  if (m.req && typeof m.req === 'object') return fromHttp(m.req);

  // The aedes broker node's second output: every publish the broker routes.
  const packet = (msg.payload as { packet?: { topic?: unknown; payload?: unknown } } | undefined)?.packet;
  if (msg.topic === 'publish' && packet && typeof packet.topic === 'string') {
    // The broker also routes our own commands and $SYS: only device traffic is ours.
    if (!packet.topic.startsWith(`${prefix}/device/`)) return { type: 'ignored', reason: 'not a device topic' };
    return { type: 'device', topic: packet.topic, payload: packet.payload, resent: m.resent === true };
  }
  if (typeof msg.topic === 'string' && msg.topic !== '')
    return { type: 'device', topic: msg.topic, payload: msg.payload, resent: m.resent === true };
  return { type: 'invalid', reason: 'expected an MQTT message (msg.topic and msg.payload) or msg.command' };
}

function fromHttp(req: HttpRequestLike): ProcessorInput {
  const path = (req.path ?? req.originalUrl ?? '').split('?')[0]!;
  const segments = path.split('/').filter(Boolean);
  const at = segments.indexOf('control');
  const action = at >= 0 ? HTTP_ACTIONS[segments[at + 1] ?? ''] : undefined;
  if (!action)
    return { type: 'invalid', reason: `no command in ${path}: expected /api/control/{mode|reboot|settings|sound|live|zones}/{id}` };
  const deviceId = req.params?.id ?? decodeURIComponent(segments[at + 2] ?? '');
  const request: CommandRequest = { action, deviceId };
  // The route's third part: the mode, or the sound (`stop` stops it).
  const last = decodeURIComponent(segments[at + 3] ?? '');
  if (action === 'setmode') request.mode = req.params?.mode ?? last;
  if (action === 'sound-play') {
    const sound = req.params?.sound ?? last;
    if (sound.toLowerCase() === 'stop') request.action = 'sound-stop';
    else request.soundType = sound;
  }
  if (action === 'live') {
    const body = req.body as { seconds?: unknown } | undefined;
    if (body && typeof body === 'object') request.seconds = body.seconds;
  }
  if (action === 'zones') {
    const body = req.body as { zones?: unknown } | undefined;
    request.zones = body && typeof body === 'object' && !Array.isArray(body) ? body.zones : body;
  }
  if (action === 'settings-update') {
    const body = req.body as { settings?: unknown } | undefined;
    request.settings = (body && typeof body === 'object' && 'settings' in body ? body.settings : body) as Record<string, unknown>;
  }
  return { type: 'command', request };
}

/**
 * What the bot answers to commands from an authorised chat. Plain logic over
 * a small context (the store's cameras and events, and two ways to act), so
 * it is tested without Telegram or Node-RED.
 */
import { escapeHtml, localTime, type FormatOptions } from '../lib/alerts/format';
import type { CameraMode } from '../lib/types';

export interface CameraInfo {
  id: string;
  name: string;
  online?: boolean;
  /** the mode the camera reported */
  mode?: string;
  /** the mode the cloud last asked for */
  desiredMode?: string;
}

export interface EventInfo {
  cameraId: string;
  cameraName?: string;
  activityType?: string;
  startMs: number;
}

export interface CommandContext {
  cameras(): Promise<CameraInfo[]>;
  recentEvents(limit: number): Promise<EventInfo[]>;
  /** sends a setmode command to the camera (through mqtt-processor) */
  setMode(deviceId: string, mode: CameraMode): void;
  /** asks a camera node for a picture; false when no camera node is wired to answer */
  requestSnapshot(camera: CameraInfo): boolean;
  format: FormatOptions;
}

export interface ParsedCommand {
  name: string;
  args: string;
}

/** `/arm@picam_bot Front Door` → {name: 'arm', args: 'Front Door'}; undefined when not a command. */
export function parseCommand(text: string, botUsername?: string): ParsedCommand | undefined {
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return undefined;
  // In a group, "/status@other_bot" is meant for another bot.
  if (m[2] && botUsername && m[2].toLowerCase() !== botUsername.toLowerCase()) return undefined;
  return { name: m[1]!.toLowerCase(), args: (m[3] ?? '').trim() };
}

export const HELP = [
  '<b>PiCam Guardian</b>',
  '/status: cameras, modes and the last events',
  '/arm: arm every camera (motion alerts on); /arm <i>camera</i>: one camera',
  '/disarm: stream without alerts; /disarm <i>camera</i>: one camera',
  '/snapshot <i>camera</i>: a picture now',
].join('\n');

/** The reply to one command, as Telegram HTML. */
export async function answerCommand(cmd: ParsedCommand, ctx: CommandContext): Promise<string> {
  switch (cmd.name) {
    case 'status':
      return status(ctx);
    case 'arm':
      return setModes(ctx, cmd.args, 'ARMED');
    case 'disarm':
      return setModes(ctx, cmd.args, 'LIVESTREAMONLY');
    case 'snapshot':
      return snapshot(ctx, cmd.args);
    case 'start':
    case 'help':
      return HELP;
    default:
      return `I don't know /${escapeHtml(cmd.name)}.\n\n${HELP}`;
  }
}

async function status(ctx: CommandContext): Promise<string> {
  const [cameras, events] = await Promise.all([ctx.cameras(), ctx.recentEvents(5)]);
  if (cameras.length === 0) return 'No cameras have connected yet.';
  const lines = [`<b>${cameras.length} camera${cameras.length === 1 ? '' : 's'}</b>`];
  for (const c of cameras) {
    const dot = c.online === undefined ? '⚪' : c.online ? '🟢' : '🔴';
    const mode = c.mode ?? c.desiredMode ?? 'mode unknown';
    const pending = c.desiredMode && c.mode && c.desiredMode !== c.mode ? ` (asked for ${c.desiredMode})` : '';
    lines.push(`${dot} ${escapeHtml(c.name)}: ${c.online === false ? 'offline' : 'online'}, ${escapeHtml(mode)}${escapeHtml(pending)}`);
  }
  lines.push('', events.length ? '<b>Last events</b>' : 'No events yet.');
  for (const e of events) {
    const what = (e.activityType ?? 'activity').toLowerCase().replace(/_/g, ' ');
    lines.push(`${escapeHtml(e.cameraName ?? e.cameraId)}: ${escapeHtml(what)}, ${localTime(e.startMs, ctx.format)}`);
  }
  return lines.join('\n');
}

async function setModes(ctx: CommandContext, args: string, mode: CameraMode): Promise<string> {
  const cameras = await ctx.cameras();
  const chosen = !args || args.toLowerCase() === 'all' ? cameras : findCamera(cameras, args);
  if (typeof chosen === 'string') return chosen;
  if (chosen.length === 0) return 'No cameras have connected yet.';
  for (const c of chosen) ctx.setMode(c.id, mode);
  const verb = mode === 'ARMED' ? 'Arming' : 'Disarming (streaming without alerts)';
  return `${verb}: ${chosen.map((c) => escapeHtml(c.name)).join(', ')}. Each camera confirms when it reports its new mode (/status).`;
}

async function snapshot(ctx: CommandContext, args: string): Promise<string> {
  if (!args) return 'Which camera? /snapshot <i>camera</i>';
  const found = findCamera(await ctx.cameras(), args);
  if (typeof found === 'string') return found;
  const camera = found[0]!;
  if (!ctx.requestSnapshot(camera)) return `No camera node here can take a picture of ${escapeHtml(camera.name)}.`;
  return `Asking ${escapeHtml(camera.name)} for a picture…`;
}

/** By id, then by name (any case), then by a unique start of a name; a string is the reason none matched. */
function findCamera(cameras: CameraInfo[], query: string): CameraInfo[] | string {
  const q = query.trim().toLowerCase();
  const exact = cameras.filter((c) => c.id.toLowerCase() === q || c.name.toLowerCase() === q);
  if (exact.length > 0) return exact.slice(0, 1);
  const prefix = cameras.filter((c) => c.name.toLowerCase().startsWith(q));
  if (prefix.length === 1) return prefix;
  const names = cameras.map((c) => escapeHtml(c.name)).join(', ') || 'none yet';
  return prefix.length > 1
    ? `"${escapeHtml(query)}" could be ${prefix.map((c) => escapeHtml(c.name)).join(' or ')}.`
    : `No camera called "${escapeHtml(query)}". Cameras: ${names}.`;
}

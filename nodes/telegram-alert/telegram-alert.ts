/**
 * telegram-alert: sends alerts on the alert contract to Telegram chats through
 * the outbox, adds snapshots to the messages they belong to, and answers
 * /status, /arm, /disarm and /snapshot from those chats.
 *   output 1: delivery reports   output 2: camera commands (→ mqtt-processor)
 *   output 3: snapshot requests (→ camera nodes)
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Message } from 'node-telegram-bot-api';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { alertNodeConfig, offReport, wireAlertNode, type AlertNodeSettings } from '../lib/alerts/alert-node';
import { AlertService } from '../lib/alerts/alert-service';
import { AlertPolicy } from '../lib/alerts/policy';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import type { AlertSnapshot, SnapshotRequest } from '../lib/types';
import type { CameraRow } from '../lib/contract/dashboard-api';
import type { EventStore } from '../lib/store/store';
import type { TelegramBotNode } from '../telegram-bot/telegram-bot';
import { answerCommand, parseCommand, type CameraInfo, type CommandContext, type EventInfo } from './commands';
import { parseChatIds } from './chats';
import { TelegramChannel } from './telegram-channel';

interface TelegramAlertDef extends NodeDef, AlertNodeSettings {
  bot: string;
  chatIds: string;
  commands: boolean | string;
}

/** How long a command waits for the database to open before it is answered "starting up". */
const STARTUP_WAIT_MS = 10_000;

/** How long a /snapshot request waits for a camera node's picture. */
const SNAPSHOT_TIMEOUT_MS = 30_000;

export default function register(RED: NodeAPI): void {
  function TelegramAlert(this: Node, def: TelegramAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const bot = RED.nodes.getNode(def.bot) as TelegramBotNode | null;
    const chats = parseChatIds(def.chatIds ?? '');
    const api = bot?.api;
    const wires = (node as unknown as { wires?: string[][] }).wires ?? [];

    // Without a token or a chat the node is off, not broken: a flow imported
    // before the bot exists still deploys, and each alert says why it went nowhere.
    const off = !bot
      ? 'no bot configured'
      : !api
        ? 'no bot token (set TELEGRAM_BOT_TOKEN)'
        : (chats.invalid ?? (chats.ids.length ? undefined : 'no chat ids'));
    if (off) {
      new StatusReporter(node).now('warn', `off: ${off}`);
      node.on('input', (msg: NodeMessageInFlow, send: (m: Array<NodeMessage | null>) => void, done: () => void) => {
        send([{ topic: 'delivery/suppressed', payload: offReport('telegram', msg.payload, `telegram-alert is off: ${off}`) }, null, null]);
        done();
      });
      return;
    }

    const snapshotRequests = new Map<string, { chat: string; camera: string; timer: NodeJS.Timeout }>();
    // Commands that arrive while the database opens wait for it (a restart must not answer "not ready").
    let contextReady: (ctx: CommandContext) => void = () => undefined;
    const commandContext = new Promise<CommandContext>((resolve) => (contextReady = resolve));

    const wired = wireAlertNode({
      RED,
      node,
      channel: 'telegram',
      databaseId: def.database,
      outputs: 3,
      describe: () => `${chats.ids.length} chat${chats.ids.length === 1 ? '' : 's'}`,
      start: (store) => {
        const config = alertNodeConfig(def);
        contextReady(commandsFor(store, config.format));
        return new AlertService({
          outbox: store.outbox('telegram', node.id),
          channel: new TelegramChannel(api!, config.format),
          policy: new AlertPolicy(config.policy),
          targets: chats.ids,
          giveUpAfterMs: config.giveUpAfterMs,
          limiter: bot!.limiter,
          report: (r) => wired.report(r),
          onError: (err) => node.error(`outbox: ${err.message}`),
        });
      },
      // A picture someone asked for goes to that chat only.
      targetsFor: (payload) => {
        const requestId = (payload as AlertSnapshot | undefined)?.requestId;
        const request = requestId ? snapshotRequests.get(requestId) : undefined;
        if (!request) return undefined;
        clearTimeout(request.timer);
        snapshotRequests.delete(requestId!);
        return [request.chat];
      },
      onClose: async () => {
        for (const r of snapshotRequests.values()) clearTimeout(r.timer);
        snapshotRequests.clear();
        if (commandsOn) await bot!.unsubscribe(subscriber);
      },
    });

    // Replies skip the outbox (a command is answered now or not at all) but keep to the bot's limits.
    const reply = (chat: string, html: string, replyTo?: number) =>
      bot!.limiter
        .paced(chat, () =>
          api!.sendMessage({
            chat_id: chat,
            text: html,
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
          }),
        )
        .catch((err: Error) => node.warn(`reply to chat ${chat} failed: ${err.message}`));

    const commandsFor = (store: EventStore, format: CommandContext['format']): CommandContext => ({
      format,
      cameras: async () => (await store.query('cameras')).cameras.map(toCameraInfo),
      recentEvents: async (limit) => {
        const { events } = await store.query('events', { limit });
        return events.map((e): EventInfo => ({
          cameraId: e.camera_id,
          cameraName: e.camera_name ?? undefined,
          activityType: e.activity_type ?? undefined,
          startMs: (e.start_timestamp ?? 0) * 1000,
        }));
      },
      setMode: (deviceId, mode) => node.send([null, { topic: 'command', command: { action: 'setmode', deviceId, mode } }, null]),
      requestSnapshot: () => false, // replaced per command with the asking chat
    });

    const subscriber = {
      id: node.id,
      chats: new Set(chats.ids),
      command: async (message: Message, botUsername?: string) => {
        const chat = String(message.chat.id);
        const cmd = parseCommand(message.text ?? '', botUsername);
        if (!cmd) return;
        const context = await Promise.race([commandContext, delay(STARTUP_WAIT_MS, undefined, { ref: false })]);
        if (!context) {
          await reply(chat, 'Still starting up (the database is not open yet): try again in a moment.', message.message_id);
          return;
        }
        node.log(`command /${cmd.name} from chat ${chat}`);
        const ctx: CommandContext = {
          ...context,
          requestSnapshot: (camera) => {
            if (!wires[2]?.length) return false;
            const request: SnapshotRequest = { deviceId: camera.id, requestId: `snap_${randomBytes(6).toString('hex')}` };
            const timer = setTimeout(() => {
              snapshotRequests.delete(request.requestId);
              void reply(chat, `No picture came from ${camera.name} within ${SNAPSHOT_TIMEOUT_MS / 1000} s.`);
            }, SNAPSHOT_TIMEOUT_MS);
            snapshotRequests.set(request.requestId, { chat, camera: camera.id, timer });
            node.send([null, null, { topic: 'snapshot', payload: request }]);
            return true;
          },
        };
        await reply(chat, await answerCommand(cmd, ctx), message.message_id);
      },
      pollerState: (state: string, detail?: string) => {
        if (state === 'conflict' || state === 'unauthorized')
          wired.status.now('error', `commands: ${state}${detail ? ` (${detail})` : ''}`.slice(0, 80));
      },
    };
    const commandsOn = def.commands !== false && def.commands !== 'false';
    if (commandsOn) bot!.subscribe(subscriber);
  }
  RED.nodes.registerType('telegram-alert', TelegramAlert as unknown as NodeConstructor);
}

function toCameraInfo(c: CameraRow): CameraInfo {
  return {
    id: c.camera_id,
    name: c.camera_name ?? c.camera_id,
    online: c.connection_status ? c.connection_status === 'connected' : undefined,
    mode: c.status ?? undefined,
    desiredMode: c.desired_mode ?? undefined,
  };
}

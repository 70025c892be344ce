/**
 * telegram-alert: sends alerts on the alert contract to Telegram chats through
 * the outbox, adds snapshots to the messages they belong to, and answers
 * /status, /arm, /disarm and /snapshot from those chats, and the buttons under its
 * activity alerts (Disarm this camera, Snapshot now, Open in dashboard). Takes the
 * recorder's clips (msg.topic clip/ready) and puts the video in place of the alert's photo.
 *   output 1: delivery reports   output 2: camera commands (→ mqtt-processor)
 *   output 3: snapshot requests (→ camera nodes)
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { CallbackQuery, Message } from 'node-telegram-bot-api';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { alertNodeConfig, wireAlertNode, type AlertNodeSettings, type WiredAlertNode } from '../lib/alerts/alert-node';
import { offForGood, startWhenConfigured } from '../lib/alerts/off-until-configured';
import { pageConnection } from '../lib/alerts/page-connection';
import { AlertService } from '../lib/alerts/alert-service';
import { livePolicy } from '../lib/alerts/live-policy';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { DEFAULT_LINK_DAYS, eventLinker } from '../lib/event-links';
import { credentialSecret } from '../lib/secret-box';
import type { AlertOutbox } from '../lib/store/outbox';
import type { AlertSnapshot, SnapshotRequest } from '../lib/types';
import type { CameraRow } from '../lib/contract/dashboard-api';
import type { EventStore } from '../lib/store/store';
import type { TelegramBotNode } from '../lib/alerts/telegram-bot-node';
import { answerCommand, parseCommand, type CameraInfo, type CommandContext, type EventInfo } from './commands';
import { parseChatIds } from './chats';
import { TelegramChannel } from './telegram-channel';
import { parseButton } from './buttons';
import { liveApi } from './live-api';

interface TelegramAlertDef extends NodeDef, AlertNodeSettings {
  bot: string;
  chatIds: string;
  commands: boolean | string;
  /** the dashboard's public address (`${PICAM_PUBLIC_URL}`): signed event links in captions and the Open button */
  dashboardUrl?: string;
  /** how many days a signed link works (default 7) */
  linkDays?: string | number;
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
    const wires = (node as unknown as { wires?: string[][] }).wires ?? [];

    // Without a token or a chat the node is off, not broken: a flow imported
    // before the bot exists still deploys, and each alert says why it went nowhere.
    if (!bot) return offForGood(node, 'telegram', 3, 'no bot configured');
    // The admin page's chats win over the node's (its bot token: telegram-bot); both follow the page live.
    const page = pageConnection(RED, 'telegram', (m) => node.warn(m));
    const chatsNow = () => parseChatIds(page.values().chatIds ?? def.chatIds ?? '');
    let chats = chatsNow();
    const chatSet = new Set(chats.ids);
    const off = () =>
      !bot.api
        ? 'no bot token (set TELEGRAM_BOT_TOKEN, or on the admin page)'
        : (chats.invalid ?? (chats.ids.length ? undefined : 'no chat ids (set TELEGRAM_CHAT_IDS, or on the admin page)'));
    const describe = () =>
      `${chats.ids.length} chat${chats.ids.length === 1 ? '' : 's'}${page.inForce || bot.tokenFromPage ? ' (admin page)' : ''}`;
    let wired: WiredAlertNode | undefined;
    startWhenConfigured({
      node,
      channel: 'telegram',
      outputs: 3,
      off,
      onChange: (changed) =>
        page.onChange(() => {
          chats = chatsNow();
          chatSet.clear();
          for (const id of chats.ids) chatSet.add(id);
          const why = off();
          node.log(why ? `telegram-alert is off: ${why}` : `telegram-alert now sends to ${describe()}`);
          wired?.refreshStatus();
          changed();
        }),
      start: () => (wired = startSending(bot)),
    });

    /** The working node (once a token and chats are there); `bot` is the config node, known to exist. */
    function startSending(bot: TelegramBotNode): WiredAlertNode {
      const api = liveApi(() => bot.api);
      const link = eventLinker(
        def.dashboardUrl,
        numberSetting(def.linkDays, DEFAULT_LINK_DAYS),
        credentialSecret(RED.settings as { credentialSecret?: unknown }),
        (m) => node.warn(m),
      );
      let outbox: AlertOutbox | undefined;
      const snapshotRequests = new Map<string, { chat: string; camera: string; timer: NodeJS.Timeout }>();
      // Commands that arrive while the database opens wait for it (a restart must not answer "not ready").
      let contextReady: (ctx: CommandContext) => void = () => undefined;
      const commandContext = new Promise<CommandContext>((resolve) => (contextReady = resolve));

      const sending = wireAlertNode({
        RED,
        node,
        channel: 'telegram',
        databaseId: def.database,
        outputs: 3,
        describe,
        off,
        start: (store) => {
          const config = alertNodeConfig(def);
          contextReady(commandsFor(store, config.format));
          outbox = store.outbox('telegram', node.id);
          return new AlertService({
            outbox,
            channel: new TelegramChannel(api, config.format, { link }),
            policy: livePolicy({ node, channel: 'telegram', base: config.policy, store, sendsTo: describe }),
            // read at each alert: chats changed on the admin page count for the next one
            get targets() {
              return chats.ids;
            },
            giveUpAfterMs: config.giveUpAfterMs,
            limiter: bot.limiter,
            report: (r) => sending.report(r),
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
          if (commandsOn) await bot.unsubscribe(subscriber);
        },
      });

      // Replies skip the outbox (a command is answered now or not at all) but keep to the bot's limits.
      const reply = (chat: string, html: string, replyTo?: number) =>
        bot.limiter
          .paced(chat, () =>
            api.sendMessage({
              chat_id: chat,
              text: html,
              parse_mode: 'HTML',
              link_preview_options: { is_disabled: true },
              ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
            }),
          )
          .catch((err: Error) => node.warn(`reply to chat ${chat} failed: ${err.message}`));

      /** Asks the camera nodes (output 3) for a picture that goes to `chat` only; false when none is wired. */
      const snapshotFor =
        (chat: string) =>
        (camera: CameraInfo | { id: string; name: string }): boolean => {
          if (!wires[2]?.length) return false;
          const request: SnapshotRequest = { deviceId: camera.id, requestId: `snap_${randomBytes(6).toString('hex')}` };
          const timer = setTimeout(() => {
            snapshotRequests.delete(request.requestId);
            void reply(chat, `No picture came from ${camera.name} within ${SNAPSHOT_TIMEOUT_MS / 1000} s.`);
          }, SNAPSHOT_TIMEOUT_MS);
          snapshotRequests.set(request.requestId, { chat, camera: camera.id, timer });
          // deviceId on the message too: camera nodes (ipcam, rpicam-rtsp) read their target there.
          node.send([null, null, { topic: 'snapshot', deviceId: camera.id, payload: request }]);
          return true;
        };

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
        chats: chatSet,
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
          const ctx: CommandContext = { ...context, requestSnapshot: snapshotFor(chat) };
          await reply(chat, await answerCommand(cmd, ctx), message.message_id);
        },
        button: async (query: CallbackQuery & { message: { chat: { id: number } } }) => {
          const chat = String(query.message.chat.id);
          const answer = async (text: string): Promise<void> => {
            await Promise.resolve(bot.api?.answerCallbackQuery({ callback_query_id: query.id, text: text.slice(0, 200) })).catch(
              (err: Error) => node.warn(`answering a button press in chat ${chat} failed: ${err.message}`),
            );
          };
          const context = await Promise.race([commandContext, delay(STARTUP_WAIT_MS, undefined, { ref: false })]);
          const press = parseButton(query.data);
          // The row must be one of this node's alerts, sent to the chat the press came from.
          const row = context && press && outbox ? await outbox.get(press.rowId) : undefined;
          if (!context || !press || !row || row.item !== 'alert' || row.target !== chat) {
            node.warn(
              `button press in chat ${chat} refused: ${context ? 'not a button of an alert sent to this chat' : 'still starting up'}`,
            );
            return answer(context ? 'This button no longer works.' : 'Still starting up: try again in a moment.');
          }
          // The press is answered whatever happens: an unanswered one spins in the user's chat for a while.
          const known = await context.cameras().then(
            (cameras) => cameras.find((c) => c.id === row.deviceId),
            (err: Error) => void node.warn(`button press: the cameras could not be read: ${err.message}`),
          );
          const camera = known ?? { id: row.deviceId, name: (row.payload as { deviceName?: string }).deviceName ?? row.deviceId };
          node.log(`button ${press.action} for ${camera.id} from chat ${chat}`);
          if (press.action === 'disarm') {
            context.setMode(camera.id, 'LIVESTREAMONLY');
            return answer(`Disarming ${camera.name}: it keeps streaming, without alerts. /arm ${camera.name} to arm it again.`);
          }
          if (!snapshotFor(chat)(camera)) return answer(`No camera node is wired for snapshots, so ${camera.name} cannot send one.`);
          return answer(`Asked ${camera.name} for a picture.`);
        },
        pollerState: (state: string, detail?: string) => {
          if (state === 'conflict' || state === 'unauthorized')
            sending.status.now('error', `commands: ${state}${detail ? ` (${detail})` : ''}`.slice(0, 80));
        },
      };
      const commandsOn = def.commands !== false && def.commands !== 'false';
      if (commandsOn) bot.subscribe(subscriber);
      return sending;
    }
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

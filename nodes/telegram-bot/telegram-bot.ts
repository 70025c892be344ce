/**
 * Config node for one Telegram bot: the token (a password credential, or
 * ${TELEGRAM_BOT_TOKEN}), the API root, the client, and the one command poller
 * its alert nodes share. Polling starts with the first node that takes
 * commands and stops after the last one, or when this node closes.
 */
import { Api, type CallbackQuery, type Message, type Update } from 'node-telegram-bot-api';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { SendLimiter, TELEGRAM_LIMITS } from '../lib/alerts/send-limiter';
import { ThrottledWarn } from '../lib/status';
import { CommandPoller, type PollerState } from './poller';

interface TelegramBotDef extends NodeDef {
  apiRoot: string;
  timeoutSeconds: string | number;
  polling: boolean | string;
}

interface TelegramBotCredentials {
  token?: string;
}

/** An alert node that answers commands from its chats. */
export interface CommandSubscriber {
  id: string;
  chats: ReadonlySet<string>;
  /** `botUsername` tells "/status@this_bot" from a command meant for another bot in a group */
  command(message: Message, botUsername?: string): Promise<void>;
  /** a press of a button under one of its alerts; the subscriber answers it (answerCallbackQuery) */
  button?(query: CallbackQuery & { message: { chat: { id: number } } }): Promise<void>;
  pollerState(state: PollerState, detail?: string): void;
}

export interface TelegramBotNode extends Node {
  /** undefined when there is no token: the alert nodes turn themselves off */
  api?: Api;
  apiRoot: string;
  /** Telegram's limits hold per bot, so every alert node using this bot paces its sends here */
  limiter: SendLimiter;
  subscribe(subscriber: CommandSubscriber): void;
  unsubscribe(subscriber: CommandSubscriber): Promise<void>;
}

const DEFAULT_API_ROOT = 'https://api.telegram.org';

export default function register(RED: NodeAPI): void {
  function TelegramBot(this: TelegramBotNode & { credentials: TelegramBotCredentials }, def: TelegramBotDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const token = (node.credentials?.token ?? '').trim();
    node.apiRoot = (def.apiRoot || DEFAULT_API_ROOT).trim();
    node.limiter = new SendLimiter(TELEGRAM_LIMITS);
    const polling = def.polling !== false && def.polling !== 'false';
    const subscribers = new Map<string, CommandSubscriber>();
    const ignored = new ThrottledWarn((t) => node.warn(t), 60_000);
    let poller: CommandPoller | undefined;
    let username: string | undefined;

    if (token) {
      // Retries belong to the outbox, which remembers them across restarts: the client sends once.
      node.api = new Api(token, {
        apiRoot: node.apiRoot,
        maxRetries: 0,
        timeoutMs: numberSetting(def.timeoutSeconds, 10) * 1000,
      });
    }

    const onButton = async (query: CallbackQuery) => {
      const chat = query.message?.chat.id;
      const subscriber = chat === undefined ? undefined : [...subscribers.values()].find((s) => s.chats.has(String(chat)) && s.button);
      if (!subscriber) {
        // Logged without the button's data: the chat and who pressed is what an operator needs.
        const who = query.from.username ? `@${query.from.username}` : `user ${query.from.id}`;
        ignored.warnNow(`ignored a button press from chat ${chat ?? '(inline)'} (${who}): not one of the configured chat ids`);
        await node
          .api!.answerCallbackQuery({ callback_query_id: query.id, text: 'Not allowed from this chat.' })
          .catch((err: Error) => node.warn(`answering a button press from chat ${chat ?? '(inline)'} failed: ${err.message}`));
        return;
      }
      await subscriber.button!(query as CallbackQuery & { message: { chat: { id: number } } });
    };

    const onUpdate = async (update: Update) => {
      if ('callback_query' in update && update.callback_query) return onButton(update.callback_query);
      const message = 'message' in update ? update.message : undefined;
      if (!message?.text) return;
      const chat = String(message.chat.id);
      const subscriber = [...subscribers.values()].find((s) => s.chats.has(chat));
      if (!subscriber) {
        const who = message.from?.username ? `@${message.from.username}` : `user ${message.from?.id ?? '?'}`;
        ignored.warnNow(`ignored "${message.text.slice(0, 40)}" from chat ${chat} (${who}): not one of the configured chat ids`);
        return;
      }
      await subscriber.command(message, username);
    };

    node.subscribe = (subscriber) => {
      subscribers.set(subscriber.id, subscriber);
      if (!node.api || !polling) return;
      if (!poller) {
        poller = new CommandPoller(node.api, token, node.id, {
          update: onUpdate,
          state: (state, detail) => {
            if (state === 'conflict') node.warn(`another client polls this bot token (409): ${detail ?? ''}`);
            for (const s of subscribers.values()) s.pollerState(state, detail);
          },
        });
        if (!poller.start()) {
          poller = undefined;
          subscriber.pollerState('conflict', 'another telegram-bot config node in this runtime polls the same token');
          return;
        }
        node.api.setMyCommands({ commands: COMMANDS }).catch((err: Error) => node.debug(`setMyCommands: ${err.message}`));
        node.api.getMe().then(
          (me) => (username = me.username),
          (err: Error) => node.debug(`getMe: ${err.message}`),
        );
      }
    };

    const stopPolling = async () => {
      const p = poller;
      poller = undefined;
      await p?.stop();
    };

    node.unsubscribe = async (subscriber) => {
      subscribers.delete(subscriber.id);
      if (subscribers.size === 0) await stopPolling();
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      subscribers.clear();
      stopPolling().then(done, done);
    });
  }
  RED.nodes.registerType('telegram-bot', TelegramBot as unknown as NodeConstructor, {
    credentials: { token: { type: 'password' } },
  });
}

/** The command menu Telegram shows under the chat's "/" button. */
const COMMANDS = [
  { command: 'status', description: 'Cameras, modes and the last events' },
  { command: 'arm', description: 'Arm all cameras, or one: /arm Front Door' },
  { command: 'disarm', description: 'Stream without alerts: all cameras, or one' },
  { command: 'snapshot', description: 'A picture now: /snapshot Front Door' },
  { command: 'help', description: 'What I can do' },
];

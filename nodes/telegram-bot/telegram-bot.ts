/**
 * Config node for one Telegram bot: the token (a password credential, or
 * ${TELEGRAM_BOT_TOKEN}), the API root, the client, and the one command poller
 * its alert nodes share. Polling starts with the first node that takes
 * commands and stops after the last one, or when this node closes.
 * A bot token set on the admin page (page-connection.ts) wins over the node's own,
 * at once: the client and the poller follow it without a redeploy.
 */
import { Api, type CallbackQuery, type Update } from 'node-telegram-bot-api';
import type { NodeAPI, NodeDef } from 'node-red';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { SendLimiter, TELEGRAM_LIMITS } from '../lib/alerts/send-limiter';
import { pageConnection } from '../lib/alerts/page-connection';
import { ThrottledWarn } from '../lib/status';
import { CommandPoller } from './poller';
import type { CommandSubscriber, TelegramBotNode } from '../lib/alerts/telegram-bot-node';
import { leadershipOf } from '../lib/cluster/leadership';

interface TelegramBotDef extends NodeDef {
  apiRoot: string;
  timeoutSeconds: string | number;
  polling: boolean | string;
}

interface TelegramBotCredentials {
  token?: string;
}

const DEFAULT_API_ROOT = 'https://api.telegram.org';

export default function register(RED: NodeAPI): void {
  function TelegramBot(this: TelegramBotNode & { credentials: TelegramBotCredentials }, def: TelegramBotDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const ownToken = (node.credentials?.token ?? '').trim();
    const page = pageConnection(RED, 'telegram', (m) => node.warn(m));
    const token = () => page.values().botToken ?? ownToken;
    node.apiRoot = (def.apiRoot || DEFAULT_API_ROOT).trim();
    node.limiter = new SendLimiter(TELEGRAM_LIMITS);
    const polling = def.polling !== false && def.polling !== 'false';
    const subscribers = new Map<string, CommandSubscriber>();
    const ignored = new ThrottledWarn((t) => node.warn(t), 60_000);
    let poller: CommandPoller | undefined;
    let username: string | undefined;
    // Telegram answers a second getUpdates client of a token with 409: of several runtimes, the leader polls.
    const leadership = leadershipOf(RED.settings);

    // One client per token, made when first asked for: a token changed on the page makes the next.
    let client: { token: string; api: Api } | undefined;
    Object.defineProperty(node, 'api', {
      get: (): Api | undefined => {
        const t = token();
        if (!t) return undefined;
        // Retries belong to the outbox, which remembers them across restarts: the client sends once.
        if (client?.token !== t)
          client = {
            token: t,
            api: new Api(t, { apiRoot: node.apiRoot, maxRetries: 0, timeoutMs: numberSetting(def.timeoutSeconds, 10) * 1000 }),
          };
        return client.api;
      },
    });
    Object.defineProperty(node, 'tokenFromPage', { get: () => page.values().botToken !== undefined });

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

    /** Polls with the token in force for the subscribers, unless it already does. */
    const startPolling = (first: CommandSubscriber) => {
      const api = node.api;
      if (!api || !polling || poller || subscribers.size === 0 || !leadership.isLeader) return;
      poller = new CommandPoller(api, token(), node.id, {
        update: onUpdate,
        state: (state, detail) => {
          if (state === 'conflict') node.warn(`another client polls this bot token (409): ${detail ?? ''}`);
          for (const s of subscribers.values()) s.pollerState(state, detail);
        },
      });
      if (!poller.start()) {
        poller = undefined;
        first.pollerState('conflict', 'another telegram-bot config node in this runtime polls the same token');
        return;
      }
      api.setMyCommands({ commands: COMMANDS }).catch((err: Error) => node.debug(`setMyCommands: ${err.message}`));
      api.getMe().then(
        (me) => (username = me.username),
        (err: Error) => node.debug(`getMe: ${err.message}`),
      );
    };

    node.subscribe = (subscriber) => {
      subscribers.set(subscriber.id, subscriber);
      startPolling(subscriber);
    };

    // The poller being stopped: a new one starts only after it, so two never poll the token at once.
    let stopping: Promise<void> = Promise.resolve();
    const stopPolling = async () => {
      const p = poller;
      poller = undefined;
      if (p) stopping = p.stop();
      await stopping;
    };

    // A token changed on the page: the poller of the old one stops, one of the new one starts.
    let polledToken = token();
    const stopFollowing = page.onChange(() => {
      if (token() === polledToken) return;
      polledToken = token();
      username = undefined;
      node.log(`bot token ${page.values().botToken ? 'set on the admin page' : "back to the node's own"}`);
      void stopPolling().then(() => {
        const first = subscribers.values().next().value;
        if (first) startPolling(first);
      });
    });

    // Leadership moved: the new leader starts polling, the old one stops (its held request is aborted).
    const stopLeading = leadership.onChange((leader) => {
      node.log(leader ? 'leader: polling the bot for commands' : 'follower: the leader runtime polls the bot for commands');
      if (!leader) return void stopPolling();
      void stopping.then(() => {
        const first = subscribers.values().next().value;
        if (first) startPolling(first);
      });
    });

    node.unsubscribe = async (subscriber) => {
      subscribers.delete(subscriber.id);
      if (subscribers.size === 0) await stopPolling();
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      stopFollowing();
      stopLeading();
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

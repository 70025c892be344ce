/**
 * What an alert node sees of the `telegram-bot` config node: the client, the shared send pacing
 * and the command poller's subscriptions. Here, beside the alert code, so that telegram-alert can
 * name it without importing the config node's folder (as nodes/lib/store/database-node.ts does
 * for the database).
 */
import type { Api, CallbackQuery, Message } from 'node-telegram-bot-api';
import type { Node } from 'node-red';
import type { SendLimiter } from './send-limiter';

export type PollerState = 'polling' | 'conflict' | 'unauthorized' | 'retrying' | 'stopped';

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
  /** the client of the token in force now; undefined when there is none: the alert nodes are off */
  readonly api?: Api;
  /** true when the token in force is the admin page's */
  readonly tokenFromPage: boolean;
  apiRoot: string;
  /** Telegram's limits hold per bot, so every alert node using this bot paces its sends here */
  limiter: SendLimiter;
  subscribe(subscriber: CommandSubscriber): void;
  unsubscribe(subscriber: CommandSubscriber): Promise<void>;
}

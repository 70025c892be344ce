/**
 * The bot's client as the channel calls it, asked for at each call: a token set or changed on
 * the admin page (telegram-bot follows it) counts for the next message, without a redeploy.
 */
import type { Api } from 'node-telegram-bot-api';
import type { TelegramApi } from './telegram-channel';

export function liveApi(current: () => Api | undefined): TelegramApi {
  const api = (): Api => {
    const a = current();
    // A retry later: the token may come back (the outbox keeps the row).
    if (!a) throw new Error('no bot token now (cleared on the admin page, none in the environment)');
    return a;
  };
  return {
    sendMessage: (...args: Parameters<Api['sendMessage']>) => api().sendMessage(...args),
    sendPhoto: (...args: Parameters<Api['sendPhoto']>) => api().sendPhoto(...args),
    sendVideo: (...args: Parameters<Api['sendVideo']>) => api().sendVideo(...args),
    editMessageMedia: (...args: Parameters<Api['editMessageMedia']>) => api().editMessageMedia(...args),
  } as TelegramApi;
}

import { CHAT_ID } from '../lib/contract/alert-connection';

/** The chat ids a telegram-alert node sends to and takes commands from. */
export interface ChatIds {
  ids: string[];
  /** why the setting cannot be used, for the node status */
  invalid?: string;
}

/** "12345, -100987654321 @my_channel" → ids; separators are commas, semicolons or spaces. */
export function parseChatIds(value: string): ChatIds {
  const ids = [...new Set(value.split(/[\s,;]+/).filter(Boolean))];
  const bad = ids.filter((id) => !CHAT_ID.test(id));
  if (bad.length > 0) return { ids: [], invalid: `not a chat id: ${bad.join(', ')} (numbers, or @channel)` };
  return { ids };
}

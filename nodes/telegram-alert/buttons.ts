/**
 * The inline buttons under an activity alert (issue 19): Disarm this camera, Snapshot now,
 * Open in dashboard. A press comes back as a callback query carrying `<action>:<outbox row id>`
 * (Telegram allows 64 bytes; a camera id alone may be longer): the node looks the row up in
 * its own outbox, so a press names an alert this node sent to that chat, never a camera the
 * caller typed.
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'node-telegram-bot-api';
import type { Alert } from '../lib/types';
import type { OutboxRow } from '../lib/store/outbox';

export type ButtonAction = 'disarm' | 'snap';

export interface ButtonPress {
  action: ButtonAction;
  rowId: number;
}

const DATA = /^(disarm|snap):(\d{1,15})$/;

export function buttonData(action: ButtonAction, rowId: number): string {
  return `${action}:${rowId}`;
}

/** The press's action and row, or undefined for data this node never put on a button. */
export function parseButton(data: string | undefined): ButtonPress | undefined {
  const m = DATA.exec(data ?? '');
  return m ? { action: m[1] as ButtonAction, rowId: Number(m[2]) } : undefined;
}

/** Buttons for a sent (or about to be sent) activity alert row; undefined for anything else. */
export function alertKeyboard(alert: OutboxRow, link: string | undefined): InlineKeyboardMarkup | undefined {
  const a = alert.payload as Alert;
  if (alert.item !== 'alert' || a.kind !== 'activity' || !alert.eventId) return undefined;
  const rows: InlineKeyboardButton[][] = [
    [
      { text: 'Disarm this camera', callback_data: buttonData('disarm', alert.id) },
      { text: 'Snapshot now', callback_data: buttonData('snap', alert.id) },
    ],
  ];
  if (link) rows.push([{ text: 'Open in dashboard', url: link }]);
  return { inline_keyboard: rows };
}

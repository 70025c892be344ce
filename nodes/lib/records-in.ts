/** Store records as sqlite-events sends them on (output 1): one per message, or a batch's array. */
import type { StoreRecord } from './types';

/** Records arrive one per message (mqtt-processor) or as arrays; anything else is not a record. */
export function recordsIn(payload: unknown): StoreRecord[] {
  const list = Array.isArray(payload) ? payload : [payload];
  return list.filter((r): r is StoreRecord => typeof r === 'object' && r !== null && typeof (r as { kind?: unknown }).kind === 'string');
}

/** Store records as sqlite-events sends them on (output 1): one per message, or a batch's array. */
import { ALERT_BATCH_TOPIC, type StoreRecord } from './types';

/** Records arrive one per message (mqtt-processor) or as arrays; anything else is not a record. */
export function recordsIn(payload: unknown): StoreRecord[] {
  const list = Array.isArray(payload) ? payload : [payload];
  return list.filter((r): r is StoreRecord => typeof r === 'object' && r !== null && typeof (r as { kind?: unknown }).kind === 'string');
}

/**
 * The store records a message carries, for nodes wired where alerts pass too (the cloud flow's
 * link nodes): alerts (`alert/...`, `alerts`) have a `kind` as well, but are no records.
 */
export function storeRecordsOf(msg: { topic?: unknown; payload?: unknown }): StoreRecord[] {
  if (typeof msg.topic === 'string' && (msg.topic === ALERT_BATCH_TOPIC || msg.topic.startsWith('alert/'))) return [];
  return recordsIn(msg.payload);
}

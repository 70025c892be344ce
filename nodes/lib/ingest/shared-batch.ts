/**
 * Committed batches shared, not copied, between the nodes wired to one output.
 *
 * Node-RED deep-copies a message for every wire after the first (lodash
 * cloneDeep), so that one branch cannot change what another sees. The store's
 * committed records go to two nodes in the cloud flow (the dashboard feed and the
 * recorder), so every batch of up to 500 records was copied once more after its
 * COMMIT: in the ingest bench 9 % of all bytes the runtime allocated and ~4 % of
 * its main thread, for copies nobody changes.
 *
 * Here the records themselves are frozen instead (`shareReadOnly`), so no branch
 * can change them, and a hook on `onSend` gives each further wire its own shallow
 * copy of the message (its own topic, `_msgid`, `_ingest`...) around the same
 * frozen payload, in place of the deep copy (Node-RED's hook contract: a hook
 * that replaces the message sets `cloneMessage` to false). Only a payload tagged
 * here, whose envelope holds nothing but plain values, is shared; anything else is
 * copied as before. A batch holding binary data (a Buffer cannot be frozen) is
 * not tagged either.
 *
 * What a flow sees: the records on the store's output are read-only. A function
 * node that assigns to one of them changes nothing (or throws, in strict mode);
 * copying a record first (`{...record}`) works as always.
 */
import { randomBytes } from 'node:crypto';
import type { MessageHooks } from './receipts';

/** One tag for every bundled copy of this module (each node file bundles its own). */
const SHARED = Symbol.for('picam-guardian.shared-batch');
const HOOK_LABEL = `picamSharedBatch${randomBytes(4).toString('hex')}`;

interface SendEvent {
  msg: Record<string, unknown>;
  cloneMessage?: boolean;
}

function holdsBinary(value: object): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && holdsBinary(v)) return true;
  }
  return false;
}

function freezeDeep(value: object): void {
  if (Object.isFrozen(value)) return;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object') freezeDeep(v);
  }
  Object.freeze(value);
}

/**
 * Freezes `items` and tags them as shareable between wires. Returns whether they were: a
 * batch with binary data in it is left as it is and copied per wire as before.
 */
export function shareReadOnly(items: object[]): boolean {
  for (const item of items) if (holdsBinary(item)) return false;
  for (const item of items) freezeDeep(item);
  Object.defineProperty(items, SHARED, { value: true });
  Object.freeze(items);
  return true;
}

export function isShared(payload: unknown): boolean {
  return Array.isArray(payload) && (payload as { [SHARED]?: true })[SHARED] === true;
}

/** The envelope holds only plain values besides the payload: a shallow copy is a full one. */
function plainEnvelope(msg: Record<string, unknown>): boolean {
  for (const key in msg) {
    if (key === 'payload') continue;
    const v = msg[key];
    if (v !== null && typeof v === 'object') return false;
  }
  return true;
}

function onSend(events: SendEvent[]): void {
  for (const e of events) {
    if (e.cloneMessage && isShared(e.msg.payload) && plainEnvelope(e.msg)) {
      e.msg = { ...e.msg };
      e.cloneMessage = false;
    }
  }
}

let users = 0;
let attachedTo: MessageHooks | undefined;

/** Registers the hook while any node that shares batches runs; call the returned function on close. */
export function useSharedBatches(hooks: MessageHooks): () => void {
  if (users++ === 0) {
    attachedTo = hooks;
    hooks.add(`onSend.${HOOK_LABEL}`, onSend as (e: never) => void);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users > 0 || !attachedTo) return;
    attachedTo.remove(`*.${HOOK_LABEL}`);
    attachedTo = undefined;
  };
}

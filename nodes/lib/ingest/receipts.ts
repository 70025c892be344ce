/**
 * Receipts: a device message is acknowledged to its broker only once everything
 * the flow made of it is finished: its records committed, its alerts in the
 * outbox. Acknowledging on arrival loses what a kill -9 catches in flight.
 *
 * An ingress node tags the message with a receipt id (`msg._ingest`) and sends
 * it. Node-RED's message hooks count every delivery of a tagged message
 * (`preDeliver`: the destination exists and the message is already cloned) and
 * every completion (`onComplete`: the node called `done`). When the count is back
 * to zero, nothing derived from the message is still at work, and the receipt
 * settles. Both hooks run synchronously inside `send`, so a node that sends and
 * then calls `done` never lets the count touch zero early.
 *
 * The count is kept per node: a completion releases only a hold its node took
 * on delivery. A catch node (or a complete node) gets its copy of a message
 * outside `send`, so no hold was taken for it, and its completion must not
 * release the hold of a branch still at work (the store writing while an alert
 * failed). Link out / link in pairs are ordinary wires at run time: counted.
 *
 * A node that builds new messages from a tagged one copies `_ingest` onto them
 * (mqtt-processor does for its alerts); a node that holds a message on purpose
 * (the store while the disk is full) simply completes later, which holds the
 * acknowledgement and, through the ingress's in-flight limit, the broker.
 */
import { randomBytes } from 'node:crypto';
import { isTransientStoreError } from '../store-errors';

export const RECEIPT_PROPERTY = '_ingest';

/** How a receipt ended: the errors of nodes that completed with one (done(err)). */
export interface ReceiptOutcome {
  errors: string[];
  /**
   * One of them was the store's "not now" (still opening, full disk, a full wait queue): the
   * message is fine and not stored, so it must come again, never be acknowledged as done.
   */
  retry: boolean;
}
export type Settle = (outcome: ReceiptOutcome) => void;

/** The part of Node-RED's hooks API (RED.hooks) that receipts use. */
export interface MessageHooks {
  add(name: string, hook: (event: never) => unknown): void;
  remove(name: string): void;
}

/**
 * The runtime's hooks. node-red-node-test-helper's node API has none; the
 * runtime's own are @node-red/util's, which the helper's runtime also calls.
 */
export function messageHooks(RED: object): MessageHooks {
  const own = (RED as { hooks?: MessageHooks }).hooks;
  if (own) return own;
  return (require('@node-red/util') as { hooks: MessageHooks }).hooks;
}

/** The ingress's own hold, taken when the receipt opens and dropped by `sent`. */
const INGRESS = '';

/**
 * Holds by node id as two short parallel arrays (a message passes two or three nodes), not a Map:
 * a Map per message in flight was a good part of what the garbage collector copied per message.
 */
interface OpenReceipt {
  /** node ids holding a delivery not yet completed, and how many each */
  holders: string[];
  holds: number[];
  total: number;
  /** created on the first error only */
  errors: string[] | undefined;
  retry: boolean;
  openedMs: number;
  settle: Settle;
  book: ReceiptBook;
}

const NO_ERRORS: readonly string[] = Object.freeze([]);

function holdsOf(r: OpenReceipt, nodeId: string): number {
  const i = r.holders.indexOf(nodeId);
  return i < 0 ? 0 : r.holds[i]!;
}

interface TaggedEvent {
  msg?: { [RECEIPT_PROPERTY]?: unknown };
}
interface DeliverEvent extends TaggedEvent {
  destination?: { id?: string; node?: { _expectedDoneCount?: number } };
}
interface CompleteEvent extends TaggedEvent {
  error?: unknown;
  node?: { id?: string };
}

// Node-RED's hooks are process-wide, so the table of open receipts is too. Each
// node file bundles its own copy of this module: the label and the ids carry a
// random part, so two copies (picam-broker's and mqtt-ingest's) never remove or
// settle each other's.
const open = new Map<string, OpenReceipt>();
const idPrefix = randomBytes(4).toString('hex');
const HOOK_LABEL = `picamReceipts${idPrefix}`;
let attachedTo: MessageHooks | undefined;
let books = 0;
let seq = 0;

function receiptOf(event: TaggedEvent): OpenReceipt | undefined {
  const id = event.msg?.[RECEIPT_PROPERTY];
  return typeof id === 'string' ? open.get(id) : undefined;
}

function onDeliver(event: DeliverEvent): void {
  const r = receiptOf(event);
  // A node without a done-aware input handler never completes: it cannot hold a receipt.
  const nodeId = event.destination?.id;
  if (r && nodeId !== undefined && (event.destination?.node?._expectedDoneCount ?? 0) > 0) {
    const i = r.holders.indexOf(nodeId);
    if (i < 0) {
      r.holders.push(nodeId);
      r.holds.push(1);
    } else r.holds[i]!++;
    r.total++;
  }
}

function onComplete(event: CompleteEvent): void {
  const r = receiptOf(event);
  const nodeId = event.node?.id;
  // No hold of this node's: its copy did not come through a counted delivery (a catch node's).
  if (!r || nodeId === undefined || !holdsOf(r, nodeId)) return;
  if (event.error) {
    (r.errors ??= []).push(event.error instanceof Error ? event.error.message : String(event.error));
    if (isTransientStoreError(event.error)) r.retry = true;
  }
  release(event.msg![RECEIPT_PROPERTY] as string, r, nodeId);
}

function release(id: string, r: OpenReceipt, holder: string): void {
  const i = r.holders.indexOf(holder);
  if (i >= 0 && --r.holds[i]! <= 0) {
    r.holders.splice(i, 1);
    r.holds.splice(i, 1);
  }
  if (--r.total > 0) return;
  open.delete(id);
  r.book.forget();
  r.settle({ errors: r.errors ?? (NO_ERRORS as string[]), retry: r.retry });
}

function attach(hooks: MessageHooks): void {
  if (books++ > 0) return;
  attachedTo = hooks;
  hooks.add(`preDeliver.${HOOK_LABEL}`, onDeliver as (e: never) => void);
  hooks.add(`onComplete.${HOOK_LABEL}`, onComplete as (e: never) => void);
}

function detach(): void {
  if (--books > 0 || !attachedTo) return;
  attachedTo.remove(`*.${HOOK_LABEL}`);
  attachedTo = undefined;
}

/** One ingress node's receipts: open them, and know how many are still in flight. */
export class ReceiptBook {
  private count = 0;
  private closed = false;

  constructor(hooks: MessageHooks) {
    attach(hooks);
  }

  /** Receipts of this book not yet settled: what the ingress has in flight. */
  get inFlight(): number {
    return this.count;
  }

  /**
   * Tags `msg` with a new receipt, held by the caller until `sent(id)`: call
   * `node.send(msg)` in between, so that its deliveries are counted first.
   */
  open(msg: Record<string, unknown>, settle: Settle, nowMs = Date.now()): string {
    const id = `${idPrefix}-${++seq}`;
    open.set(id, { holders: [INGRESS], holds: [1], total: 1, errors: undefined, retry: false, openedMs: nowMs, settle, book: this });
    this.count++;
    msg[RECEIPT_PROPERTY] = id;
    return id;
  }

  /** Drops the ingress's own hold; with nothing wired downstream the receipt settles now. */
  sent(id: string): void {
    const r = open.get(id);
    if (r && holdsOf(r, INGRESS)) release(id, r, INGRESS);
  }

  /** Age of the oldest receipt still in flight, in ms (0 when none): a stuck flow shows here. */
  oldestAgeMs(nowMs = Date.now()): number {
    let oldest = nowMs;
    for (const r of open.values()) if (r.book === this && r.openedMs < oldest) oldest = r.openedMs;
    return nowMs - oldest;
  }

  /**
   * Stops tracking. Receipts still open never settle: their messages are not
   * acknowledged, so the broker (or the publisher) sends them again.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, r] of open) if (r.book === this) open.delete(id);
    this.count = 0;
    detach();
  }

  /** Called when one of this book's receipts settled. */
  forget(): void {
    if (this.count > 0) this.count--;
  }
}

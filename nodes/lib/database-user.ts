/**
 * The one way a node uses the `picam-database` config node: input that
 * arrives while the database opens waits in a bounded queue, a failed open is
 * tried again with backoff (the status says when), queued input that cannot
 * wait any longer ends in `done(err)` so a catch node sees it, and close
 * releases everything. Before this, four nodes each did this their own way and
 * none tried again: one failed open (a USB disk mounted late, a directory
 * created after the deploy) disabled a node until the next deploy.
 */
import type { Node, NodeMessageInFlow } from 'node-red';
import { backoffMs, type BackoffOptions } from './backoff';
import { DEFAULTS } from './settings';
import { storeUnavailable } from './store-errors';
import type { StatusReporter } from './status';

/** What the picam-database config node offers its users (structurally: nodes/lib imports no node folder). */
export interface DatabaseProvider<S> {
  acquire(user: Node): Promise<S>;
  release(user: Node): Promise<void>;
  /** how long queued input waits for a database that failed to open before it fails */
  holdMs?: number;
}

export type Done = (err?: Error) => void;

export interface DatabaseUserOptions<S, Send> {
  node: Node;
  database: DatabaseProvider<S> | null;
  status: StatusReporter;
  /** what the status calls the store ("database", "outbox") */
  label?: string;
  /** Runs once the store is open, before queued input. A throw is a setup fault: no retry, all input refused. */
  ready(store: S): void | Promise<void>;
  /**
   * Input once the store is open. Omitted: the node handles its own input, which then never waits
   * for the store (ipcam: control messages for its cameras), and without a database it runs on
   * without one instead of being in error.
   */
  input?(store: S, msg: NodeMessageInFlow, send: Send, done: Done): void;
  /** Each failed open, before the retry (e.g. to stop waiting for the first open). */
  unavailable?(err: Error): void;
  /** Input that cannot be handled (no database, gave up, queue full, closed). Default: `done(err)`. */
  refuse?(msg: NodeMessageInFlow, send: Send, done: Done, err: Error): void;
  /** Input while the open is being retried, for nodes that work on without the store (instead of queueing). */
  withoutStore?(msg: NodeMessageInFlow, send: Send, done: Done): void;
  /** overrides the database's hold time: 0 answers at once after a failed open (an HTTP query must not hang) */
  holdMs?: number;
  maxQueued?: number;
  backoff?: BackoffOptions;
  /** the node's own teardown; runs before the store is released */
  close?(): void | Promise<void>;
}

export const DEFAULT_HOLD_MS = DEFAULTS.holdSeconds * 1000;
export const DEFAULT_MAX_QUEUED = 1000;
/** First retry after about a second, then doubling up to a minute: a late mount is picked up quickly, a dead disk is not hammered. */
export const OPEN_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 60_000 };

interface Queued<Send> {
  msg: NodeMessageInFlow;
  send: Send;
  done: Done;
}

export interface DatabaseUser<S> {
  /** the open store, once it is open */
  readonly store: S | undefined;
  /** true once the node closes: a `ready` that runs then should start nothing long-lived */
  readonly closing: boolean;
}

/** Registers the node's `input` and `close` handlers around the database's life. */
export function useDatabase<S, Send>(o: DatabaseUserOptions<S, Send>): DatabaseUser<S> {
  const { node, database: db, status } = o;
  const label = o.label ?? 'database';
  const maxQueued = o.maxQueued ?? DEFAULT_MAX_QUEUED;
  const holdMs = o.holdMs ?? db?.holdMs ?? DEFAULT_HOLD_MS;
  const user: { store: S | undefined; closing: boolean } = { store: undefined, closing: false };
  let queue: Array<Queued<Send>> = [];
  let fault: Error | undefined; // set: every input is refused with it
  let unavailable: Error | undefined; // set while the open is being retried
  let holding = true; // false once queued input stopped waiting for this outage
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let holdTimer: NodeJS.Timeout | undefined;
  let opening: Promise<void> = Promise.resolve();
  let closed = false;

  const refuse = (q: Queued<Send>, err: Error) => (o.refuse ? o.refuse(q.msg, q.send, q.done, err) : q.done(err));
  const refuseQueued = (err: Error) => {
    const queued = queue;
    queue = [];
    for (const q of queued) refuse(q, err);
  };

  const accept = (q: Queued<Send>) => {
    if (fault) return refuse(q, fault);
    if (user.store !== undefined) return o.input!(user.store, q.msg, q.send, q.done);
    if (unavailable && o.withoutStore) return o.withoutStore(q.msg, q.send, q.done);
    if (unavailable && !holding) return refuse(q, unavailable);
    if (queue.length >= maxQueued) return refuse(q, storeUnavailable(`${node.type}: ${maxQueued} messages already wait for the ${label}`));
    queue.push(q);
  };

  const opened = async (store: S) => {
    clearTimeout(holdTimer);
    if (attempt > 0) node.log(`${label} open after ${attempt} failed attempts`);
    attempt = 0;
    unavailable = undefined;
    try {
      await o.ready(store);
    } catch (err) {
      fault = new Error(`${node.type}: ${(err as Error).message}`);
      status.now('error', (err as Error).message.slice(0, 100));
      refuseQueued(fault);
      return;
    }
    user.store = store;
    const queued = queue;
    queue = [];
    for (const q of queued) accept(q);
  };

  const failed = (err: Error) => {
    attempt++;
    const delayMs = backoffMs(attempt, o.backoff ?? OPEN_BACKOFF);
    unavailable = storeUnavailable(`${node.type}: ${label} unavailable: ${err.message}`);
    o.unavailable?.(unavailable);
    // The config node logs each failed open; the status here says what this node does about it.
    if (closed) return refuseQueued(unavailable);
    if (attempt === 1) {
      holding = holdMs > 0;
      if (holding) holdTimer = setTimeout(stopHolding, holdMs);
      else refuseQueued(unavailable);
    }
    status.now('warn', `${label} unavailable, retrying in ${Math.max(1, Math.round(delayMs / 1000))} s`);
    if (o.withoutStore) for (const q of queue.splice(0)) o.withoutStore(q.msg, q.send, q.done);
    retryTimer = setTimeout(open, delayMs);
  };

  const stopHolding = () => {
    holding = false;
    if (unavailable) refuseQueued(storeUnavailable(`${unavailable.message} (waited ${Math.round(holdMs / 1000)} s)`));
  };

  function open() {
    if (closed || !db) return;
    status.now('busy', attempt ? `opening ${label} (attempt ${attempt + 1})` : `opening ${label}`);
    // Also when the node closes meanwhile: input queued during the open is handled (a write is
    // committed) before the store is released, so a quick redeploy loses nothing.
    opening = db.acquire(node).then(opened, failed);
  }

  if (db) open();
  else if (o.input) {
    fault = new Error(`${node.type}: no database configured`);
    status.now('error', 'no database configured');
  }

  // Each node types its own `send` (its outputs); Node-RED's listener type knows only the general one.
  const onInput = node.on.bind(node) as unknown as (event: 'input', l: (msg: NodeMessageInFlow, send: Send, done: Done) => void) => void;
  if (o.input) onInput('input', (msg, send, done) => accept({ msg, send, done }));

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = user.closing = true;
    clearTimeout(retryTimer);
    clearTimeout(holdTimer);
    const finish = async () => {
      await opening;
      refuseQueued(storeUnavailable(`${node.type}: closed before the ${label} opened`));
      await o.close?.();
      status.clear();
      if (db) await db.release(node);
    };
    finish().then(done, (err: Error) => {
      node.error(`closing: ${err.message}`);
      done();
    });
  });

  return user;
}

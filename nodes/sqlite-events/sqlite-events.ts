/**
 * sqlite-events: stores records from mqtt-processor (write mode) or answers
 * queries for the API and dashboard (query mode). Writes report `done` only
 * after their transaction committed; while the store cannot write (a full
 * disk) they wait and are retried, the status says so, and output 2 sends one
 * alert when writing stops and one when it works again.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { compact, StatusReporter, type StatusLevel } from '../lib/status';
import type { HealthState } from '../lib/health';
import type { Alert, StoreRecord } from '../lib/types';
import { useDatabase } from '../lib/database-user';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { QUERY_KINDS, QueryError, type QueryKind } from '../lib/store/queries';
import { PartialWriteError } from '../lib/store/batch-writer';
import type { EventStore } from '../lib/store/store';
import { BatchConfirmations } from './batch-confirmations';
import { isStoreRecord, queryRequest } from './messages';
import type { NodeConstructor } from '../lib/node-config';
import { messageHooks } from '../lib/ingest/receipts';
import { shareReadOnly, useSharedBatches } from '../lib/ingest/shared-batch';

interface SqliteEventsDef extends NodeDef {
  database: string;
  mode: 'write' | 'query';
  query: QueryKind | 'msg';
  /** write mode: 'each' (default) sends every input message on once committed; 'batch' one message per transaction */
  confirmations?: 'each' | 'batch';
}

type Send = (msg: NodeMessageInFlow | Array<NodeMessageInFlow | null>) => void;

/** Output 2's alert on the alert contract when the store stops (or resumes) writing. */
export function storeHealthAlert(h: HealthState, nowMs: number, pending: number): Alert {
  const text = h.ok
    ? 'database: writing again; held device messages are stored and acknowledged now'
    : `database ${h.reason}; ${pending} records held, device messages are not acknowledged until it can write`;
  // Two ids: alert nodes hold back a second text alert from one device for their cooldown, and
  // both usually leave together (the outbox is on the same disk): the recovery must not be the one held back.
  const deviceId = h.ok ? 'database-recovered' : 'database';
  return { kind: 'text', deviceId, deviceName: 'database', timeMs: nowMs, severity: h.ok ? 'info' : 'critical', text };
}
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function SqliteEvents(this: Node, def: SqliteEventsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const db = RED.nodes.getNode(def.database) as PicamDatabaseNode | null;
    const mode = def.mode === 'query' ? 'query' : 'write';
    const wired = ((node as unknown as { wires?: string[][] }).wires?.[0]?.length ?? 0) > 0;
    // Committed batches go on frozen and shared between the wires after this output, not copied (shared-batch.ts).
    const stopSharing = wired && mode === 'write' ? useSharedBatches(messageHooks(RED)) : undefined;
    const confirm =
      wired && def.confirmations === 'batch'
        ? new BatchConfirmations((records) => {
            shareReadOnly(records);
            node.send([{ topic: 'records', payload: records }, null]);
          })
        : undefined;
    let store: EventStore | undefined;
    let unhealthy: string | undefined;
    let stopWatching: (() => void) | undefined;
    let written = 0;
    let failed = 0;
    let queries = 0;

    /** Without a database a write fails; a query is still answered, so an HTTP client is not left hanging. */
    const unavailable = (msg: NodeMessageInFlow, send: Send, done: Done, err: Error) => {
      if (mode === 'query') {
        msg.payload = { error: err.message };
        (msg as { statusCode?: number }).statusCode = 503;
        send(msg);
      }
      done(err);
    };

    useDatabase<EventStore, Send>({
      node,
      database: db,
      status,
      ready: (s) => {
        store = s;
        status.now('ok', mode === 'write' ? 'ready' : `ready: ${def.query} queries`);
        if (mode === 'write') stopWatching = s.writer.onHealth((h) => healthChanged(s, h));
      },
      input: (s, msg, send, done) => (mode === 'write' ? write(s, msg, send, done) : void query(s, msg, send, done)),
      refuse: unavailable,
      // A query waits for the first open only; once it failed, it is answered 503 at once.
      holdMs: mode === 'query' ? 0 : undefined,
      close: () => {
        stopWatching?.();
        stopSharing?.();
      },
    });

    const writeCounts = (): [StatusLevel, string] =>
      unhealthy
        ? ['error', `${unhealthy} · holding ${compact(store?.writer.stats.pending ?? 0)}, retrying`.slice(0, 100)]
        : [failed ? 'warn' : 'ok', `${compact(written)} stored${failed ? `, ${failed} failed` : ''}`];

    const healthChanged = (s: EventStore, h: HealthState) => {
      unhealthy = h.ok ? undefined : h.reason;
      const [level, text] = writeCounts();
      status.now(level, text);
      // Node-RED's own send: this is no reply to an input message.
      node.send([null, { topic: 'alert/text', payload: storeHealthAlert(h, Date.now(), s.writer.stats.pending) }]);
    };

    const write = (s: EventStore, msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (Array.isArray(msg.payload)) return writeBatch(s, msg, msg.payload as unknown[], send, done);
      const record = msg.payload as unknown;
      if (!isStoreRecord(record)) {
        failed++;
        status.soon(writeCounts);
        done(new Error('sqlite-events: msg.payload is not a store record (expected mqtt-processor output 1)'));
        return;
      }
      s.write(record as StoreRecord, (err) => {
        if (err) {
          failed++;
          status.now('error', `write failed: ${err.message}`);
          done(err);
          return;
        }
        written++;
        status.soon(writeCounts);
        if (confirm) confirm.add(record as StoreRecord);
        else if (wired) send(msg);
        done();
      });
    };

    /**
     * A batch (mqtt-processor's output for a picam-broker batch, lib/types.ts RecordBatchMessage):
     * one transaction, one done() after its COMMIT. What is not a record, or cannot be written
     * for good, fails the message with the reason (its device messages are not acknowledged);
     * the others are committed.
     */
    const writeBatch = (s: EventStore, msg: NodeMessageInFlow, items: unknown[], send: Send, done: Done) => {
      const records = items.filter(isStoreRecord) as StoreRecord[];
      const notRecords = items.length - records.length;
      const finish = (err?: Error) => {
        const lost = err instanceof PartialWriteError ? err.failed.length : err ? records.length : 0;
        written += records.length - lost;
        failed += lost + notRecords;
        if (err) status.now('error', `write failed: ${err.message}`.slice(0, 100));
        else status.soon(writeCounts);
        if (!err || err instanceof PartialWriteError) {
          const bad = new Set(err instanceof PartialWriteError ? err.failed.map((f) => f.index) : []);
          if (confirm) records.forEach((r, i) => bad.has(i) || confirm.add(r));
          else if (wired && !err) {
            shareReadOnly(items as object[]);
            send(msg);
          }
        }
        if (notRecords) done(new Error(`sqlite-events: ${notRecords} of ${items.length} items in msg.payload are not store records`));
        else done(err);
      };
      if (records.length === 0) return finish();
      s.writeMany(records, finish);
    };

    const query = async (s: EventStore, msg: NodeMessageInFlow, send: Send, done: Done) => {
      const { kind, params, scope } = queryRequest(def.query, msg);
      try {
        if (!QUERY_KINDS.includes(kind as QueryKind))
          throw new QueryError(400, `unknown query "${kind}" (expected ${QUERY_KINDS.join(', ')})`);
        msg.payload = await s.query(kind as QueryKind, params, scope);
        (msg as { statusCode?: number }).statusCode = 200;
        queries++;
        status.soon(() => ['ok', `${compact(queries)} queries answered`]);
        send(msg);
        done();
      } catch (err) {
        const e = err as Error;
        const code = err instanceof QueryError ? err.statusCode : 500;
        msg.payload = { error: e.message };
        (msg as { statusCode?: number }).statusCode = code;
        send(msg);
        // A bad filter is answered, not a node failure; a database error is both.
        if (code === 500) {
          status.now('error', `query failed: ${e.message}`);
          done(e);
        } else done();
      }
    };
  }
  RED.nodes.registerType('sqlite-events', SqliteEvents as unknown as NodeConstructor);
}

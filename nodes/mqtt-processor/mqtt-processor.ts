/**
 * mqtt-processor: wires the Processor to four outputs
 *   1 records → sqlite-events   2 alerts → alert nodes
 *   3 commands → command-sender (it answers API commands once queued)
 *   4 replies to requests it refuses (400, 404) → http response
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { messageHooks, RECEIPT_PROPERTY } from '../lib/ingest/receipts';
import { shareReadOnly, useSharedBatches } from '../lib/ingest/shared-batch';
import { exposeCounters } from '../lib/metrics';
import { compact, StatusReporter, ThrottledWarn, type StatusLevel } from '../lib/status';
import {
  ALERT_BATCH_TOPIC,
  isDeviceBatch,
  RECORD_BATCH_TOPIC,
  type Alert,
  type AlertBatchMessage,
  type DeviceBatchMessage,
  type Reply,
  type StoreRecord,
} from '../lib/types';
import { useDatabase } from '../lib/database-user';
import { DEFAULTS, parseList } from '../lib/settings';
import { CLOUD_DEVICE_TYPES } from '../lib/contract/mqtt-api';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import type { EventStore } from '../lib/store/store';
import { DEFAULT_CLOCK_WINDOW } from './device-time';
import { classifyInput } from './inputs';
import { Processor, type ProcessorOutput } from './processor';
import { parseSensorLimits, type SensorLimits } from './sensor-limits';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { leadershipOf, whileLeader } from '../lib/cluster/leadership';
import { startSweeping, SWEEP_EVERY_MS } from './connection-sweeper';
import { StoredDevices } from './stored-devices';

interface MqttProcessorDef extends NodeDef {
  prefix: string;
  deviceTypes: string;
  maxPayloadKiB: string | number;
  debounceSeconds: string | number;
  heartbeatSeconds?: string | number;
  missedHeartbeats?: string | number;
  clockPastHours?: string | number;
  clockFutureSeconds?: string | number;
  sensorLimits?: string;
  database: string;
}

type Send = (msg: Array<NodeMessage | NodeMessage[] | null>) => void;
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function MqttProcessor(this: Node, def: MqttProcessorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const warn = new ThrottledWarn((t) => node.warn(t));
    const prefix = (def.prefix || 'prod').replace(/\/+$/, '');
    const deviceTypes = parseList(def.deviceTypes, CLOUD_DEVICE_TYPES);
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;

    const outputs = (out: ProcessorOutput, msg?: NodeMessageInFlow): Array<NodeMessage | NodeMessage[] | null> => {
      let record: NodeMessage | null = null;
      if (out.record && msg) {
        msg.payload = out.record; // Node-RED convention: the input msg travels on
        record = msg;
      } else if (out.record) record = { payload: out.record };
      // Alerts carry the input's receipt: its acknowledgement also waits for their outbox rows.
      const receipt = msg && RECEIPT_PROPERTY in msg ? { [RECEIPT_PROPERTY]: (msg as Record<string, unknown>)[RECEIPT_PROPERTY] } : {};
      return [
        record,
        out.alerts.length ? out.alerts.map((a) => ({ topic: `alert/${a.kind}`, payload: a, ...receipt })) : null,
        out.commands.length ? out.commands.map((c) => ({ ...c })) : null,
        null,
      ];
    };

    let sensorLimits: SensorLimits = {};
    try {
      sensorLimits = parseSensorLimits(def.sensorLimits ?? '');
    } catch (err) {
      // Bad limits must not stop ingest: readings are still stored, without limit alerts.
      node.error(`sensor limits ignored: ${(err as Error).message}`);
    }
    const processor = new Processor(
      {
        prefix,
        deviceTypes,
        maxPayloadBytes: numberSetting(def.maxPayloadKiB, 256) * 1024,
        debounceMs: numberSetting(def.debounceSeconds, DEFAULTS.debounceSeconds) * 1000,
        deadLetterBytes: 4096,
        sensorLimits,
        clockWindow: {
          pastMs: numberSetting(def.clockPastHours, DEFAULT_CLOCK_WINDOW.pastMs / 3_600_000) * 3_600_000,
          futureMs: numberSetting(def.clockFutureSeconds, DEFAULT_CLOCK_WINDOW.futureMs / 1000) * 1000,
        },
      },
      (later) => node.send(outputs(later)),
    );
    const stored = new StoredDevices(processor, {
      prefix,
      defaultType: deviceTypes[0]!,
      warn: (t) => node.warn(t),
      warnThrottled: (t) => warn.warnNow(t),
    });
    const debounceMs = numberSetting(def.debounceSeconds, DEFAULTS.debounceSeconds) * 1000;
    const silentMs =
      numberSetting(def.missedHeartbeats, DEFAULTS.missedHeartbeats) *
      numberSetting(def.heartbeatSeconds, DEFAULTS.heartbeatSeconds) *
      1000;
    const leadership = leadershipOf(RED.settings);
    // Runtimes share the store (the cluster role): what a device's state is comes from it (issue 21).
    let shared = false;
    const share = () => {
      if (shared) return;
      shared = true;
      processor.shareConnections();
    };
    if (leadership.status().mode === 'postgres') share();

    const counts = (): [StatusLevel, string] => {
      const c = processor.counters;
      const text = `${compact(c.received)} in, ${compact(c.records)} records${c.rejected ? `, ${compact(c.rejected)} rejected` : ''}${c.duplicates ? `, ${compact(c.duplicates)} dup` : ''}${c.clockWarnings ? `, ${compact(c.clockWarnings)} bad clock` : ''}`;
      return [c.rejected || c.clockWarnings ? 'warn' : 'ok', text];
    };
    const showCounts = () => status.soon(counts);
    const hideCounters = exposeCounters({ type: 'mqtt-processor', id: node.id, read: () => ({ ...processor.counters }) });

    const commandsWired = ((node as unknown as { wires?: string[][] }).wires?.[2]?.length ?? 0) > 0;
    const reply = (msg: NodeMessageInFlow, statusCode: number, body: Reply): NodeMessage =>
      Object.assign(msg, { statusCode, payload: body });

    const reportRejected = (topic: string, out: ProcessorOutput) => {
      if (out.rejected) warn.warnNow(`rejected ${topic}: ${out.rejected} (kept in dead letters)`);
      else if (out.clockWarning) warn.warnNow(`${topic}: ${out.clockWarning} (the device's value is kept as device_time_raw)`);
    };

    /**
     * A batch from picam-broker: its records leave as ONE message on output 1 (the input msg, its
     * payload now the records in input order), which the store commits in one transaction. A message
     * that cannot be read becomes a dead letter in the batch; the others go on as usual.
     */
    const handleBatch = (msg: NodeMessageInFlow & DeviceBatchMessage, send: Send, done: Done) => {
      const records: StoreRecord[] = [];
      let later: Array<Promise<Alert[]>> | undefined;
      let batchAlerts: Alert[] | undefined;
      let snapshots: NodeMessage[] | undefined;
      let commands: NodeMessage[] | null = null;
      const receipt = (msg as Record<string, unknown>)[RECEIPT_PROPERTY];
      for (const item of msg.payload as unknown[]) {
        const m = (item && typeof item === 'object' ? item : {}) as { topic?: unknown; payload?: unknown; resent?: unknown };
        const topic = typeof m.topic === 'string' ? m.topic : '';
        const out = processor.handleDevice(topic, m.payload, m.resent === true);
        reportRejected(topic || '(no topic)', out);
        if (out.record) records.push(out.record);
        for (const a of out.alerts) {
          // Snapshots go alone (the gateway takes them by topic); the batch's alerts as one message.
          if (a.kind === 'snapshot') (snapshots ??= []).push({ topic: 'alert/snapshot', payload: a, [RECEIPT_PROPERTY]: receipt });
          else (batchAlerts ??= []).push(a);
        }
        for (const c of out.commands) (commands ??= []).push({ ...c });
        if (out.later) (later ??= []).push(out.later);
      }
      let recordMsg: NodeMessage | null = null;
      if (records.length) {
        recordMsg = msg as NodeMessage;
        recordMsg.topic = RECORD_BATCH_TOPIC;
        recordMsg.payload = records;
      }
      let alerts: NodeMessage[] | null = snapshots ?? null;
      if (batchAlerts) {
        // Frozen and shared by the alert nodes after this output, not deep-copied per wire (shared-batch.ts).
        shareReadOnly(batchAlerts);
        const batch: AlertBatchMessage & NodeMessage = { topic: ALERT_BATCH_TOPIC, payload: batchAlerts, [RECEIPT_PROPERTY]: receipt };
        (alerts ??= []).unshift(batch);
      }
      send([recordMsg, alerts, commands, null]);
      showCounts();
      if (later) sendLater(later, receipt, send, done);
      else done();
    };

    /**
     * Alerts the store decided (a sensor limit's crossing claimed there) follow the records as one
     * batch. The input completes only after them: its acknowledgement waits for their outbox rows.
     */
    const sendLater = (later: Array<Promise<Alert[]>>, receipt: unknown, send: Send, done: Done) => {
      void Promise.all(later).then((lists) => {
        const late = lists.flat();
        if (late.length) {
          shareReadOnly(late);
          const batch: AlertBatchMessage & NodeMessage = { topic: ALERT_BATCH_TOPIC, payload: late, [RECEIPT_PROPERTY]: receipt };
          send([null, [batch], null, null]);
          showCounts();
        }
        done();
      });
    };

    const handle = (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (isDeviceBatch(msg)) return handleBatch(msg as NodeMessageInFlow & DeviceBatchMessage, send, done);
      const input = classifyInput(msg, prefix);
      switch (input.type) {
        case 'ignored':
          done();
          return;
        case 'invalid':
          status.now('warn', input.reason);
          // An HTTP request still gets an answer, or its client would wait for the timeout.
          if ((msg as { req?: unknown }).req) send([null, null, null, reply(msg, 400, { status: 'error', error: input.reason })]);
          done(new Error(`mqtt-processor: ${input.reason}`));
          return;
        case 'device': {
          const out = processor.handleDevice(input.topic, input.payload, input.resent);
          msg.topic = input.topic; // the broker node's publish output says "publish" here
          reportRejected(input.topic, out);
          send(outputs(out, msg));
          showCounts();
          if (out.later) sendLater([out.later], (msg as Record<string, unknown>)[RECEIPT_PROPERTY], send, done);
          else done();
          return;
        }
        case 'command': {
          const result = processor.handleCommand(input.request);
          if (!result.ok) {
            send([null, null, null, reply(msg, result.statusCode, { status: 'error', error: result.error })]);
            done();
            return;
          }
          // The request travels with its command: command-sender answers it once the command is
          // committed to its queue (202), or with 503 when it cannot be. Without one, say so now.
          if (!commandsWired) {
            send([null, null, null, reply(msg, 503, { status: 'error', error: 'commands are not wired to a command-sender' })]);
          } else send([{ topic: msg.topic, payload: result.record }, null, Object.assign(msg, result.command), null]);
          showCounts();
          done();
          return;
        }
      }
    };

    // Names and stored modes come back from the database before the first message is handled,
    // so a reconnect right after a restart restores its mode. While the database cannot open,
    // messages are processed without them (ingest must not stop); a late open fills in only
    // the devices not seen meanwhile, whose live state is newer than the stored one.
    const loadKnownDevices = async (store: EventStore) => {
      if (Object.keys(sensorLimits).length > 0) await keepLimitsIn(store);
      let rows: Awaited<ReturnType<EventStore['knownDevices']>>;
      try {
        rows = await store.knownDevices();
      } catch (err) {
        node.error(`cannot load known devices, modes will be restored only for devices seen since start: ${(err as Error).message}`);
        status.now('warn', 'database unavailable: modes not restored');
        return;
      }
      for (const r of rows) {
        if (processor.knows(r.camera_id)) continue;
        processor.remember(r.camera_id, {
          ...stored.known(r),
          connected: r.connection_status ? r.connection_status === 'connected' : undefined,
          announced: r.connection_alert === 'online' || r.connection_alert === 'offline' ? r.connection_alert : null,
          disconnectedMs: r.disconnected_at === null ? undefined : r.disconnected_at * 1000,
        });
      }
      status.now('ok', `ready, ${rows.length} known devices`);
    };

    let stopSweeping: (() => void) | undefined;
    const ready = async (store: EventStore) => {
      if (store.dialect === 'postgres') share();
      await loadKnownDevices(store);
      if (!shared || stopSweeping) return;
      // Online/offline alerts of every runtime, from the store, on the leader only.
      stopSweeping = whileLeader(leadership, () =>
        startSweeping({
          sweep: (limits) => store.sweepConnections(limits),
          announce: (swept) => {
            const out = processor.swept(swept);
            node.send([
              out.records.length ? out.records.map((r) => ({ payload: r })) : null,
              out.alerts.length ? out.alerts.map((a) => ({ topic: `alert/${a.kind}`, payload: a })) : null,
              null,
              null,
            ]);
          },
          failed: (err) => warn.warnNow(`online/offline sweep failed, tried again in ${SWEEP_EVERY_MS / 1000} s: ${err.message}`),
          debounceMs,
          silentMs,
          everyMs: SWEEP_EVERY_MS,
        }),
      );
    };

    /**
     * Shared store: the devices an input is about are read from it first (their mode, set through
     * any runtime), one input after the other so that the order of input stays the order of output.
     */
    let inOrder: Promise<void> = Promise.resolve();
    const handleShared = (store: EventStore, msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (!shared) return handle(msg, send, done);
      const ids = stored.devicesOf(msg);
      inOrder = inOrder
        .then(async () => {
          if (ids.length) await stored.refresh(store, ids);
          handle(msg, send, done);
        })
        .catch((err: Error) => done(err));
    };
    // Sensor limits' state in the store: runtimes sharing it raise one alert per crossing (issue 21).
    const keepLimitsIn = async (store: EventStore) => {
      try {
        processor.keepSensorLimitsIn(await store.sensorLimitStates(), (text) => warn.warnNow(text));
      } catch (err) {
        node.error(`sensor limits keep their state in this runtime's memory: ${(err as Error).message}`);
      }
    };
    const stopSharing = useSharedBatches(messageHooks(RED));
    const close = () => {
      stopSweeping?.();
      stopSweeping = undefined;
      stopSharing();
      hideCounters();
      processor.close();
    };

    if (db) {
      useDatabase<EventStore, Send>({
        node,
        database: db,
        status,
        ready,
        input: handleShared,
        withoutStore: handle,
        close,
      });
    } else {
      status.now('ok', 'ready');
      node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => handle(msg, send, done));
      node.on('close', (_removed: boolean, done: () => void) => {
        close();
        status.clear();
        done();
      });
    }
  }
  RED.nodes.registerType('mqtt-processor', MqttProcessor as unknown as NodeConstructor);
}

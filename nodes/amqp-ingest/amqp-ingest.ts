/**
 * amqp-ingest: device traffic from a RabbitMQ cluster's queues (the cluster role,
 * docs/cluster.md). Devices speak MQTT to any broker node; RabbitMQ routes their messages into
 * two quorum queues (cloud/cluster/rabbitmq/definitions.json): the device queue, shared by
 * every runtime's consumer (competing consumers), and the connection queue, whose single
 * active consumer keeps each device's online/offline in order. MQTT shared subscriptions
 * cannot split the work here: RabbitMQ 3.10 accepts them and then delivers nothing.
 *
 * Deliveries leave in the batch shape picam-broker emits (lib/types.ts DeviceBatchMessage)
 * through the same gate and receipts (nodes/lib/ingest/): a delivery is acknowledged only once
 * every node downstream completed, i.e. after the store's COMMIT. What the runtime had in
 * flight when it died, or when its broker node did, was never acknowledged: RabbitMQ
 * delivers it again, to this runtime or another, marked redelivered.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ConsumeMessage } from 'amqplib';
import { registerCommandPublisher } from '../lib/amqp/command-publisher';
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import { IngestGate } from '../lib/ingest/ingest-gate';
import { messageHooks, ReceiptBook, type ReceiptOutcome } from '../lib/ingest/receipts';
import { exposeCounters } from '../lib/metrics';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { runtimeClientId } from '../lib/runtime-identity';
import { compact, StatusReporter, ThrottledWarn, type StatusLevel } from '../lib/status';
import type { DeviceMessage } from '../lib/types';
import { parseBrokerUrls, tlsOptions } from './brokers';
import { deviceMessage } from './delivery';
import { AmqpLink, type DeliveryHandle, type LinkState } from './link';

interface AmqpIngestDef extends NodeDef {
  urls: string;
  ca?: string;
  deviceQueue?: string;
  connectionQueue?: string;
  prefix?: string;
  prefetch?: string | number;
  maxBatch?: string | number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export const DEFAULT_DEVICE_QUEUE = 'picam.device';
export const DEFAULT_CONNECTION_QUEUE = 'picam.connection';
/** Per consumer: 500 deliveries unacknowledged keep a store's batches full without holding much memory. */
const DEFAULT_PREFETCH = 500;
const DEFAULT_MAX_BATCH = 200;
/** A message the store could not take yet goes round again after 0.5 s, doubling to 5 s (as mqtt-ingest). */
const RETRY_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 5_000 };

export default function register(RED: NodeAPI): void {
  function AmqpIngest(this: Node & { credentials?: Credentials }, def: AmqpIngestDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const notStoredWarn = new ThrottledWarn((t) => node.warn(t));
    const prefix = (def.prefix || 'prod').replace(/\/+$/, '');
    const queues = [def.deviceQueue || DEFAULT_DEVICE_QUEUE, def.connectionQueue || DEFAULT_CONNECTION_QUEUE];
    const prefetch = Math.max(1, numberSetting(def.prefetch, DEFAULT_PREFETCH));
    const maxBatch = Math.max(1, numberSetting(def.maxBatch, DEFAULT_MAX_BATCH));
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const counts = { acknowledged: 0, redelivered: 0, notStoredYet: 0, ackLost: 0 };
    let link: AmqpLink | undefined;
    let linkState: LinkState = { phase: 'connecting', broker: '' };

    const book = new ReceiptBook(messageHooks(RED));
    // The prefetch of each consumer bounds what the broker sends: the gate never has to hold any back.
    const gate = new IngestGate(book, (msg) => node.send(msg), prefetch * queues.length, Math.min(maxBatch, prefetch));
    const retries = new Set<NodeJS.Timeout>();

    const render = (): [StatusLevel, string] => {
      const s = linkState;
      const parts: string[] = [];
      if (s.phase === 'connected') parts.push(`connected to ${s.broker}`);
      else if (s.phase === 'connecting') parts.push(`connecting to ${s.broker}`);
      else if (s.phase === 'waiting')
        parts.push(`${s.error ?? 'disconnected'}; trying ${s.broker} in ${Math.ceil((s.retryInMs ?? 0) / 1000)} s`);
      parts.push(`${compact(gate.inFlight)} in flight`, `${compact(counts.acknowledged)} acknowledged`);
      if (counts.redelivered) parts.push(`${compact(counts.redelivered)} redelivered`);
      if (counts.notStoredYet) parts.push(`${compact(counts.notStoredYet)} not stored yet`);
      return [s.phase === 'connected' ? (counts.notStoredYet ? 'warn' : 'ok') : 'warn', parts.join(' · ')];
    };
    const show = () => status.soon(render);

    /** Into the flow; acknowledged when the receipt settles, sent again when the store could not take it. */
    const admit = (msg: DeviceMessage, handle: DeliveryHandle, attempt: number): void => {
      gate.admit(msg, (outcome: ReceiptOutcome) => {
        if (outcome.retry) {
          counts.notStoredYet++;
          if (attempt === 0) notStoredWarn.warnNow(`amqp-ingest: not stored yet, trying again: ${outcome.errors.join('; ')}`);
          // Kept unacknowledged. Its channel gone: the broker delivers it again, nothing to do here.
          if (!handle.live) return show();
          const timer = setTimeout(
            () => {
              retries.delete(timer);
              if (handle.live) admit({ ...msg, resent: true }, handle, attempt + 1);
            },
            backoffMs(attempt + 1, RETRY_BACKOFF),
          );
          retries.add(timer);
          return show();
        }
        // A node that failed the message for what it is (a bad record, kept as a dead letter)
        // still completed it: a redelivery would fail the same way (as mqtt-ingest).
        if (outcome.errors.length > 0) node.debug(`acknowledged after errors: ${outcome.errors.join('; ')}`);
        if (handle.ack()) counts.acknowledged++;
        else counts.ackLost++; // committed, but its channel is gone: it comes again, marked redelivered
        show();
      });
      show();
    };

    const onDelivery = (_queue: string, delivery: ConsumeMessage, handle: DeliveryHandle) => {
      if (delivery.fields.redelivered) counts.redelivered++;
      admit(deviceMessage(delivery, prefix), handle, 0);
    };

    // command-sender (the cluster role's) publishes through this node's connection.
    const unregisterPublisher = registerCommandPublisher(node.id, () => link?.publisher);
    const hideCounters = exposeCounters({
      type: 'amqp-ingest',
      id: node.id,
      read: () => ({ inFlight: gate.inFlight, ...counts }),
    });

    try {
      const login = { username: node.credentials?.username ?? '', password: node.credentials?.password ?? '' };
      if (!login.username) throw new Error('no login: set the username and password of the runtime’s RabbitMQ user');
      const brokers = parseBrokerUrls(def.urls ?? '', login);
      link = new AmqpLink(
        { brokers, queues, prefetch, connectionName: runtimeClientId(userDir, 'amqp-ingest'), tls: tlsOptions(def.ca) },
        {
          state: (s) => {
            const wasConnected = linkState.phase === 'connected';
            linkState = s;
            if (s.phase === 'connected') node.log(`connected to ${s.broker}, consuming ${queues.join(' and ')}`);
            else if (s.phase === 'waiting' && wasConnected) node.warn(`amqp-ingest: lost the broker (${s.error}); trying ${s.broker}`);
            if (s.phase !== 'closed') status.now(render()[0], render()[1]);
          },
          delivery: onDelivery,
        },
      );
      link.start();
    } catch (err) {
      link = undefined;
      status.now('error', (err as Error).message.slice(0, 120));
      node.error(`amqp-ingest: ${(err as Error).message}`);
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      hideCounters();
      unregisterPublisher();
      // In flight stays unacknowledged: closing the channel gives it back to the queue.
      gate.close();
      void (link?.close() ?? Promise.resolve()).then(
        () => {
          status.clear();
          done();
        },
        (err: Error) => {
          node.error(`amqp-ingest: close: ${err.message}`);
          done();
        },
      );
    });
  }

  RED.nodes.registerType('amqp-ingest', AmqpIngest as unknown as NodeConstructor, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}

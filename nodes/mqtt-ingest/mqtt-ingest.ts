/**
 * mqtt-ingest: device traffic from an external broker (Mosquitto), acknowledged
 * only after the flow has made it durable. Replaces the stock `mqtt in`, which
 * acknowledges every QoS 1 message as it arrives: a kill -9 then loses what the
 * flow still had in memory.
 *
 * Each message goes out tagged with a receipt (nodes/lib/ingest/receipts.ts);
 * its PUBACK waits in the AckWindow until the receipt settles. MQTT.js sends a
 * QoS 1 PUBACK when `handleMessage` calls back, and handles the next packet only
 * after that: calling back at once with a marker error skips its PUBACK without
 * holding the next message, and we send the PUBACK ourselves later. Calling back
 * late is the back-pressure: with the window full, the client stops reading.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { messageHooks, ReceiptBook } from '../lib/ingest/receipts';
import { compact, StatusReporter, type StatusLevel } from '../lib/status';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { runtimeClientId } from '../lib/runtime-identity';
import { AckWindow, type Delivery } from './ack-window';
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import { brokerUrl } from '../lib/mqtt/broker-connection';
import { clientOptions, DEFAULT_MAX_IN_FLIGHT, DEFAULT_SESSION_EXPIRY_SECONDS } from './connection';
import { parseBoolean } from '../lib/settings';

interface MqttIngestDef extends NodeDef {
  host: string;
  port: string | number;
  usetls: boolean | string;
  ca?: string;
  cert?: string;
  key?: string;
  topic: string;
  maxInFlight?: string | number;
}

interface Credentials {
  user?: string;
  password?: string;
}

/** Tells MQTT.js not to send its own PUBACK (publish.js: an error skips it, without emitting anything). */
const ACK_HELD = new Error('acknowledged after commit');

/** A message the store could not take yet comes round again after 0.5 s, doubling up to 5 s: a local resend is cheap, and the window bounds how many wait. */
const RETRY_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 5_000 };

/** The MQTT.js internal that writes a packet on the current connection; there is no public way to ack. */
type PacketSender = { _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void };

export default function register(RED: NodeAPI): void {
  function MqttIngest(this: Node & { credentials?: Credentials }, def: MqttIngestDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const topic = def.topic || 'prod/device/#';
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const maxInFlight = Math.max(1, numberSetting(def.maxInFlight, DEFAULT_MAX_IN_FLIGHT));
    const book = new ReceiptBook(messageHooks(RED));
    let client: MqttClient | undefined;
    let state = 'connecting';

    const window = new AckWindow({
      cap: maxInFlight,
      ack: (messageId) => {
        if (client?.connected) (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
      },
    });

    const counts = (): [StatusLevel, string] => {
      const held = window.full ? ' (holding the broker)' : '';
      const level: StatusLevel = state !== 'connected' ? 'warn' : window.full ? 'busy' : 'ok';
      return [level, `${state} · ${compact(window.inFlight)} in flight${held} · ${compact(window.acknowledged)} acknowledged`];
    };
    const showCounts = () => status.soon(counts);

    // Messages the store could not take yet, sent into the flow again after a pause.
    const retries = new Set<NodeJS.Timeout>();
    const send = (packet: IPublishPacket, delivery: Delivery, attempt: number) => {
      const msg: Record<string, unknown> = {
        topic: packet.topic,
        payload: packet.payload,
        qos: packet.qos,
        retain: packet.retain,
      };
      // The processor drops a message it has seen; this one it saw, but it was never stored.
      if (attempt > 0) msg.resent = true;
      const id = book.open(msg, (outcome) => {
        if (outcome.retry) {
          // Not stored (the database still opening, its queue full, the disk full): no PUBACK;
          // it goes round again, and with the window full the broker waits meanwhile.
          const timer = setTimeout(
            () => {
              retries.delete(timer);
              send(packet, delivery, attempt + 1);
            },
            backoffMs(attempt + 1, RETRY_BACKOFF),
          );
          retries.add(timer);
          if (attempt === 0) node.warn(`mqtt-ingest: not stored yet, trying again: ${outcome.errors.join('; ')}`);
          return;
        }
        // A node that failed the message for what it is (a bad record, already in dead
        // letters or logged) still completed it: redelivery would fail the same way.
        if (outcome.errors.length > 0) node.debug(`acknowledged after errors: ${outcome.errors.join('; ')}`);
        window.settle(delivery);
        showCounts();
      });
      node.send(msg);
      book.sent(id);
    };

    const deliver = (packet: IPublishPacket, done: (err?: Error) => void) => {
      send(packet, window.receive(packet.qos, packet.messageId), 0);
      showCounts();
      window.whenRoom(() => done(packet.qos === 1 ? ACK_HELD : undefined));
    };

    let url = `${def.host}:${def.port}`;
    try {
      const settings = {
        host: def.host || '127.0.0.1',
        port: numberSetting(def.port, 1883),
        tls: parseBoolean('usetls', def.usetls, false),
        caFile: def.ca,
        certFile: def.cert,
        keyFile: def.key,
        username: node.credentials?.user,
        password: node.credentials?.password,
        clientId: runtimeClientId(userDir, 'ingest'),
        maxInFlight,
        sessionExpirySeconds: DEFAULT_SESSION_EXPIRY_SECONDS,
      };
      url = brokerUrl(settings);
      client = mqtt.connect(url, clientOptions(settings));
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 80));
      node.error(`mqtt-ingest: ${(err as Error).message}`);
    }

    if (client) {
      const c = client;
      c.handleMessage = (packet, callback) => deliver(packet, callback);
      c.on('connect', (connack) => {
        state = 'connected';
        c.subscribe(topic, { qos: 1, rh: 1 }, (err, granted) => {
          const refused = granted?.find((g) => g.qos > 2);
          if (err || refused) {
            status.now('error', `subscribe refused: ${topic}`);
            node.error(`mqtt-ingest: ${url} refused the subscription to ${topic}${err ? `: ${err.message}` : ''}`);
          }
        });
        node.log(`connected to ${url}${connack.sessionPresent ? ', session resumed' : ', new session'}`);
        showCounts();
      });
      c.on('close', () => {
        window.connectionLost();
        if (state === 'connected') state = 'reconnecting';
        showCounts();
      });
      c.on('reconnect', () => {
        state = 'reconnecting';
        showCounts();
      });
      c.on('error', (err) => {
        status.now('error', `${err.message}`.slice(0, 80));
        node.warn(`mqtt-ingest: ${url}: ${err.message}`);
      });
      status.now('busy', `connecting to ${url}`);
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      // What is in flight stays unacknowledged: the broker redelivers it to the session.
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      book.close();
      window.close();
      status.clear();
      if (!client) return done();
      client.end(true, {}, () => done());
    });
  }
  RED.nodes.registerType('mqtt-ingest', MqttIngest as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

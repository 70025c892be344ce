/**
 * mqtt-outbox: the Pi's connection to the cloud broker, for data that must
 * not be lost while the uplink is down. Input messages are committed to an
 * SQLite outbox before `done`, then published with QoS 1 in order and deleted
 * after the broker's PUBACK (uplink.ts). The output carries the messages of
 * its subscription (the cloud's commands), so one client, with the device id
 * as client id, holds the Pi's Last Will, publishes and subscribes, as the
 * broker's ACL expects.
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { IClientOptions } from 'mqtt';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import { payloadBytes, publishTopic, receivedPayload } from './messages';
import { OutboxStore, type DropReport } from './outbox-store';
import { outboxSettings, type MqttOutboxCredentials, type MqttOutboxDef, type OutboxSettings } from './settings';
import { age, statusText, type DropCounts } from './status-text';
import { Uplink } from './uplink';

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;

/** Node-RED's own MQTT nodes reconnect after this long unless the settings say otherwise. */
const DEFAULT_RECONNECT_MS = 5000;
/** The badge's "oldest" age moves while nothing else happens. */
const REFRESH_STATUS_MS = 10_000;

interface TlsConfigNode {
  addTLSOptions(options: IClientOptions): void;
}

export default function register(RED: NodeAPI): void {
  function MqttOutbox(this: Node & { credentials?: MqttOutboxCredentials }, def: MqttOutboxDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    const settingsOf = RED.settings as { userDir?: string; mqttReconnectTime?: number };
    let settings: OutboxSettings;
    try {
      settings = outboxSettings(
        def,
        node.credentials ?? {},
        settingsOf.userDir ?? process.cwd(),
        settingsOf.mqttReconnectTime ?? DEFAULT_RECONNECT_MS,
      );
    } catch (err) {
      const message = (err as Error).message;
      status.now('error', message.slice(0, 90));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`mqtt-outbox: ${message}`)));
      return;
    }
    const tls = def.tls ? (RED.nodes.getNode(def.tls) as unknown as TlsConfigNode | null) : null;
    tls?.addTLSOptions(settings.client);

    const dropped: DropCounts = { size: 0, age: 0 };
    let uplink: Uplink | undefined;
    const show = (now = false) => {
      if (!uplink) return;
      const render = () => statusText(uplink!.summary(), dropped, Date.now());
      if (now) status.now(...render());
      else status.soon(render);
    };
    const reportDrop = (d: DropReport) => {
      dropped[d.reason] += d.count;
      node.warn(dropText(d, settings));
      show(true);
    };

    status.now('busy', 'opening the outbox');
    const opening = OutboxStore.open({
      file: settings.file,
      maxBytes: settings.maxBytes,
      maxAgeMs: settings.maxAgeMs,
      onDrop: reportDrop,
      onError: (err) => node.error(`outbox: ${err.message}`),
      onSetAside: (movedTo, why) =>
        node.warn(`the outbox ${settings.file} could not be read (${why}): set aside as ${movedTo}, and a new one begun`),
    }).then((store) => {
      const u = new Uplink(store, settings, {
        onState: () => show(true),
        onProgress: () => show(),
        onMessage: (topic, payload, retain) => node.send({ topic, payload: receivedPayload(payload), retain, qos: 1 } as NodeMessage),
        onError: (err) => node.warn(err.message),
      });
      uplink = u;
      const waiting = store.stats().count;
      node.log(`outbox ${settings.file}: ${waiting} message${waiting === 1 ? '' : 's'} waiting`);
      u.start();
      show(true);
      return { store, uplink: u };
    });
    opening.catch((err: Error) => {
      status.now('error', `outbox failed: ${err.message}`.slice(0, 90));
      node.error(`cannot open the outbox ${settings.file}: ${err.message}`);
    });
    const refresh = setInterval(() => show(), REFRESH_STATUS_MS);

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      let topic: string;
      let payload: Buffer;
      try {
        topic = publishTopic(settings.topic ?? msg.topic);
        payload = payloadBytes(msg.payload);
      } catch (err) {
        done(new Error(`mqtt-outbox: ${(err as Error).message}`));
        return;
      }
      // Messages that arrive while the file opens wait on `opening`, in arrival order.
      opening
        .then(({ uplink: u }) => u.publish(topic, payload))
        .then(
          () => done(),
          (err: Error) => done(new Error(`mqtt-outbox: not queued: ${err.message}`)),
        );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(refresh);
      opening
        .then(async ({ store, uplink: u }) => {
          await u.close();
          await store.close();
        })
        .catch((err: Error) => node.error(`closing the outbox: ${err.message}`))
        .finally(() => {
          status.clear();
          done();
        });
    });
  }
  RED.nodes.registerType('mqtt-outbox', MqttOutbox as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

/** The log line for messages a bound pushed out: how many, how much, from when, and which bound. */
export function dropText(d: DropReport, s: Pick<OutboxSettings, 'maxBytes' | 'maxAgeMs'>): string {
  const span = `queued ${new Date(d.fromMs).toISOString()} to ${new Date(d.toMs).toISOString()}`;
  const what = `dropped ${d.count} oldest message${d.count === 1 ? '' : 's'} (${d.bytes} bytes, ${span})`;
  return d.reason === 'size'
    ? `outbox full: ${what} to stay within ${Number((s.maxBytes / 1048576).toPrecision(3))} MiB`
    : `outbox: ${what}, older than ${age(s.maxAgeMs)}`;
}

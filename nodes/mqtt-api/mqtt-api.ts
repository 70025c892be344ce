/**
 * mqtt-api: the MQTT API beside the HTTP one (docs/mqtt-api.md). Publishes each device's state
 * (retained) and events from the store's committed records, and turns requests into commands
 * on the existing path: output 1 → mqtt-processor (the HTTP API's checks: unknown device 404,
 * refused command 409) → command-sender (queued like an HTTP command, answered once committed)
 * → back to this node's input, which publishes the answer with the request's correlation id.
 * Output 2 asks camera nodes for a picture (snapshot requests). A `device/removed` message
 * (nodes/lib/device-removed.ts) clears the device's retained state.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { randomBytes } from 'node:crypto';
import { apiTopics, DEFAULT_API_PREFIX, STATE_TOPICS, type ApiAnswer } from '../lib/contract/mqtt-api';
import { takeRemoval } from '../lib/device-removed';
import type { InboundMessage } from '../lib/mqtt/broker-link';
import { DeviceView } from '../lib/mqtt/device-view';
import { IntegrationLink } from '../lib/mqtt/integration-link';
import { switchedOn, type BrokerProperties } from '../lib/mqtt/integration-settings';
import type { NodeConstructor } from '../lib/node-config';
import { parseList } from '../lib/settings';
import { compact, StatusReporter, ThrottledWarn } from '../lib/status';
import type { Reply, StoreRecord } from '../lib/types';
import { storeRecordsOf } from '../lib/records-in';
import { pictureBytes, pictureOf } from './pictures';
import { parseRequest, type ReplyTo } from './requests';
import { registryState, stateMessages, type Outgoing } from './state-messages';

interface MqttApiDef extends NodeDef, BrokerProperties {
  /** `${PICAM_MQTT_API}`: on/off; off in a plain install */
  enabled?: string | boolean;
  /** `${PICAM_HA_DISCOVERY}`: discovery points Home Assistant here, so it turns the API on too */
  forDiscovery?: string | boolean;
  apiPrefix?: string;
  deviceTypes?: string;
  database?: string;
}

/** The property a request's message carries through mqtt-processor and command-sender, back to here. */
export const REPLY_PROPERTY = 'mqttApiReply';

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function MqttApiNode(this: Node & { credentials?: { user?: string; password?: string } }, def: MqttApiDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const warn = new ThrottledWarn((t) => node.warn(t));
    let on: boolean;
    try {
      on = switchedOn('enabled', def.enabled) || switchedOn('forDiscovery', def.forDiscovery);
    } catch (err) {
      node.error((err as Error).message);
      status.now('error', (err as Error).message);
      on = false;
    }
    if (!on) {
      status.now('ok', 'off');
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done());
      return;
    }

    const api = apiTopics(def.apiPrefix || DEFAULT_API_PREFIX);
    const view = new DeviceView(parseList(def.deviceTypes, ['hive-cam', 'picam', 'ipcam']));
    const counts = { published: 0, requests: 0, errors: 0 };
    const show = () =>
      status.soon(() => [
        links.error ? 'error' : links.link ? 'ok' : 'busy',
        links.error ??
          (links.link
            ? `${view.full ? 'device limit reached · ' : ''}${compact(counts.published)} published, ${compact(counts.requests)} requests${counts.errors ? `, ${compact(counts.errors)} refused` : ''}`
            : 'waiting for the broker'),
      ]);

    const publish = (out: Outgoing[]) => {
      const link = links.link;
      if (!link) return; // retained state is re-published from the records that follow; nothing queued here grows
      for (const o of out) {
        counts.published++;
        link.publish(o.topic, o.payload, { retain: o.retain }).catch((err: Error) => warn.warnNow(`publish to ${o.topic}: ${err.message}`));
      }
      show();
    };

    const answer = (reply: ReplyTo, body: ApiAnswer) => {
      if (body.status === 'error') counts.errors++;
      const link = links.link;
      if (!link) return;
      link
        .publish(reply.topic, JSON.stringify(body), { retain: false, correlationData: reply.correlationData })
        .catch((err: Error) => warn.warnNow(`answer to ${reply.topic}: ${err.message}`));
      show();
    };

    const onRequest = (m: InboundMessage) => {
      const parsed = parseRequest(m, api);
      if (!parsed) return;
      counts.requests++;
      if (!parsed.ok) return answer(parsed.reply, { id: parsed.reply.id, status: 'error', code: parsed.code, error: parsed.error });
      if (parsed.command === 'snapshot') {
        if (!view.get(parsed.deviceId)) {
          return answer(parsed.reply, { id: parsed.reply.id, status: 'error', code: 404, error: `unknown device "${parsed.deviceId}"` });
        }
        const requestId = `mqtt_${randomBytes(6).toString('hex')}`;
        node.send([null, { topic: 'snapshot', deviceId: parsed.deviceId, payload: { deviceId: parsed.deviceId, requestId } }]);
        return answer(parsed.reply, {
          id: parsed.reply.id,
          status: 'ok',
          code: 202,
          data: { deviceId: parsed.deviceId, requestId, topic: api.state(parsed.deviceId, 'snapshot') },
        });
      }
      // The HTTP API's path from here: mqtt-processor checks, command-sender queues and answers.
      node.send([{ topic: m.topic, command: parsed.request, [REPLY_PROPERTY]: parsed.reply } as NodeMessage, null]);
    };

    const onRecord = (record: StoreRecord) => {
      view.apply(record);
      // A record still on its way for a removed device would publish its retained state again.
      if ('deviceId' in record && record.deviceId && view.isRemoved(record.deviceId)) return;
      publish(stateMessages(record, api));
    };
    // A removed device's retained state goes too (an empty retained message clears a topic, MQTT 3.3.1.3).
    const clearState = (id: string) => publish(STATE_TOPICS.map((what) => ({ topic: api.state(id, what), payload: '', retain: true })));

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const m = msg as NodeMessageInFlow & { [REPLY_PROPERTY]?: ReplyTo; statusCode?: number; deviceId?: unknown };
      const reply = m[REPLY_PROPERTY];
      if (reply) {
        // An answer from mqtt-processor (refused) or command-sender (queued, or not).
        const body = (msg.payload ?? {}) as Reply;
        answer(reply, {
          id: reply.id,
          status: body.status === 'ok' ? 'ok' : 'error',
          code: m.statusCode ?? 500,
          data: body.data,
          error: body.error,
        });
        return done();
      }
      if (takeRemoval(msg, { node: 'mqtt-api', view, removed: clearState, done })) return;
      const picture = pictureOf(m);
      if (picture) {
        pictureBytes(picture.image).then(
          (jpeg) => {
            publish([{ topic: api.state(picture.deviceId, 'snapshot'), payload: jpeg, retain: true }]);
            done();
          },
          (err: Error) => done(new Error(`mqtt-api: picture for ${picture.deviceId}: ${err.message}`)),
        );
        return;
      }
      for (const record of storeRecordsOf(msg)) onRecord(record);
      done();
    });

    const links = new IntegrationLink({
      RED,
      node,
      def,
      name: 'mqtt-api',
      view,
      subscribe: async (l) => {
        await l.subscribe(api.requestFilter, onRequest);
        await l.subscribe(api.setFilter, onRequest);
      },
      // again after an outage too: what was published meanwhile did not go out
      up: () => {
        for (const id of view.removedIds()) clearState(id);
        for (const device of view.all()) publish(registryState(device, api));
      },
      changed: show,
    });
    status.now('busy', 'waiting for the broker');

    node.on('close', (_removed: boolean, done: () => void) => {
      status.clear();
      links.close().then(done, (err: Error) => {
        node.error(`closing: ${err.message}`);
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-api', MqttApiNode as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

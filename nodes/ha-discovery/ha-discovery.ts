/**
 * ha-discovery: Home Assistant MQTT discovery for every camera and Pi (discovery.ts builds the
 * payloads). Off unless switched on (`${PICAM_HA_DISCOVERY}`). Sends each device's discovery
 * (retained) when the broker link comes up, when a device first appears or gains an entity,
 * and again for all when Home Assistant announces itself (`{discovery}/status` = online); an
 * empty retained config removes a device (input `msg.topic` = `device/removed`, which the ipcam
 * node sends when a camera is deleted: nodes/lib/device-removed.ts). The entities read and write
 * the mqtt-api node's topics, which must run beside it.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { apiTopics, DEFAULT_API_PREFIX, DEFAULT_DISCOVERY_PREFIX } from '../lib/contract/mqtt-api';
import { takeRemoval } from '../lib/device-removed';
import type { InboundMessage } from '../lib/mqtt/broker-link';
import { DeviceView, type DeviceFacts } from '../lib/mqtt/device-view';
import { IntegrationLink } from '../lib/mqtt/integration-link';
import { switchedOn, type BrokerProperties } from '../lib/mqtt/integration-settings';
import type { NodeConstructor } from '../lib/node-config';
import { storeRecordsOf } from '../lib/records-in';
import { parseList } from '../lib/settings';
import { compact, StatusReporter, ThrottledWarn } from '../lib/status';
import { discoveryPayload, discoveryTopic, type Origin } from './discovery';

interface HaDiscoveryDef extends NodeDef, BrokerProperties {
  /** `${PICAM_HA_DISCOVERY}`: on/off; off in a plain install */
  enabled?: string | boolean;
  discoveryPrefix?: string;
  apiPrefix?: string;
  deviceTypes?: string;
  database?: string;
}

type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  const origin: Origin = { name: 'PiCam Guardian', url: 'https://git.example.org/picam-guardian/picam-guardian' };

  function HaDiscoveryNode(this: Node & { credentials?: { user?: string; password?: string } }, def: HaDiscoveryDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const warn = new ThrottledWarn((t) => node.warn(t));
    let on: boolean;
    try {
      on = switchedOn('enabled', def.enabled);
    } catch (err) {
      node.error((err as Error).message);
      status.now('error', (err as Error).message);
      on = false;
    }
    if (!on) {
      status.now('ok', 'off');
      node.on('input', (_msg: NodeMessageInFlow, _send: unknown, done: Done) => done());
      return;
    }

    const discoveryPrefix = (def.discoveryPrefix || DEFAULT_DISCOVERY_PREFIX).replace(/\/+$/, '');
    const options = { discoveryPrefix, api: apiTopics(def.apiPrefix || DEFAULT_API_PREFIX), origin };
    const view = new DeviceView(parseList(def.deviceTypes, ['hive-cam', 'picam', 'ipcam']));
    let sent = 0;
    const show = () =>
      status.soon(() => [
        links.error ? 'error' : links.link ? 'ok' : 'busy',
        links.error ??
          (links.link ? `${compact([...view.all()].length)} devices, ${compact(sent)} discovery messages` : 'waiting for the broker'),
      ]);

    const send = (topic: string, payload: string) => {
      const link = links.link;
      if (!link) return; // everything is sent once the link is up
      sent++;
      link.publish(topic, payload, { retain: true }).catch((err: Error) => warn.warnNow(`discovery to ${topic}: ${err.message}`));
      show();
    };
    const announce = (device: DeviceFacts) =>
      send(discoveryTopic(discoveryPrefix, device.id), JSON.stringify(discoveryPayload(device, options)));
    // Device-based discovery: an empty retained config on the device's topic removes the device and all its entities.
    const withdraw = (id: string) => send(discoveryTopic(discoveryPrefix, id), '');
    const announceAll = () => {
      for (const device of view.all()) announce(device);
    };

    const onStatus = (m: InboundMessage) => {
      // Home Assistant's birth message: it may have lost what it knew (a restart with a non-persistent broker).
      if (m.payload.toString('utf8').trim() === 'online') announceAll();
    };

    node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: Done) => {
      if (takeRemoval(msg, { node: 'ha-discovery', view, removed: withdraw, done })) return;
      for (const record of storeRecordsOf(msg)) {
        const change = view.apply(record);
        if (change?.capabilities) announce(change.device);
      }
      done();
    });

    const links = new IntegrationLink({
      RED,
      node,
      def,
      name: 'ha-discovery',
      view,
      subscribe: (l) => l.subscribe(`${discoveryPrefix}/status`, onStatus).then(() => undefined),
      // again after an outage too: an external broker without persistence may have lost them, and
      // a removal made while the link was down is said now
      up: () => {
        for (const id of view.removedIds()) withdraw(id);
        announceAll();
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
  RED.nodes.registerType('ha-discovery', HaDiscoveryNode as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

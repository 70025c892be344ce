/**
 * The cloud flow ships every way in for device traffic: the embedded broker
 * (on), `mqtt-ingest` from an external broker such as Mosquitto (disabled) and
 * `amqp-ingest` from a RabbitMQ cluster's queues (disabled).
 * `PICAM_MQTT_BROKER=external` picks the second without editing the flow: the
 * broker node goes (it would take Mosquitto's ports) and the device input is
 * enabled. The cluster role picks the third (`amqp`) the same way. Never two:
 * every message would be stored twice.
 */
import { EMBEDDED_BROKER_TYPE } from '../../nodes/lib/mqtt/local-broker';
import type { FlowNode } from './flow-file';

export const BROKER_MODES = ['embedded', 'external'] as const;
/** `amqp` is the cluster role's and only its: no other role has the settings amqp-ingest needs. */
export type BrokerMode = (typeof BROKER_MODES)[number] | 'amqp';

export function parseBrokerMode(raw: string | undefined): BrokerMode {
  const mode = raw || 'embedded';
  if (!(BROKER_MODES as readonly string[]).includes(mode)) {
    throw new Error(`PICAM_MQTT_BROKER must be embedded or external (got "${raw}")`);
  }
  return mode as BrokerMode;
}

/** The flow choice of a role: the cluster role always takes its devices' traffic from RabbitMQ. */
export function brokerModeFor(role: string, raw: string | undefined): BrokerMode {
  if (role !== 'cluster') return parseBrokerMode(raw);
  if (raw && raw !== 'amqp') throw new Error(`PICAM_MQTT_BROKER: the cluster role takes device traffic from RabbitMQ only (got "${raw}")`);
  return 'amqp';
}

/** Embedded broker nodes: ours, and node-red-contrib-aedes's in flows written before it. */
const EMBEDDED_BROKER_TYPES: ReadonlySet<string> = new Set([EMBEDDED_BROKER_TYPE, 'aedes broker']);

/** The device input (`mqtt-ingest`, or a stock `mqtt in` in older flows): the one reading the device topic tree. */
const isDeviceInput = (n: FlowNode) => (n.type === 'mqtt-ingest' || n.type === 'mqtt in') && n.topic === '${PICAM_DEVICE_TOPIC}';

/** The cluster role's device input: RabbitMQ's queues, which carry the same device topic tree. */
const isQueueInput = (n: FlowNode) => n.type === 'amqp-ingest';

export function selectBroker<T extends FlowNode>(flow: readonly T[], mode: BrokerMode): T[] {
  const input = mode === 'amqp' ? isQueueInput : isDeviceInput;
  if (mode === 'embedded' || !flow.some(input)) return [...flow];
  // The broker leaves its group's member list too (and any wire or catch scope naming it).
  const brokers = new Set(flow.filter((n) => EMBEDDED_BROKER_TYPES.has(n.type)).map((n) => n.id));
  return withoutNodes(flow, brokers).map((n) => (input(n) ? { ...n, d: false } : n));
}

/**
 * The flow without these nodes and without every reference to them: wires,
 * link node links, group member lists and catch/status scopes. Node-RED
 * ignores a dangling reference, but the editor would rewrite the flow.
 */
export function withoutNodes<T extends FlowNode>(flow: readonly T[], ids: ReadonlySet<string>): T[] {
  const keep = (list: unknown) => (Array.isArray(list) ? list.filter((id) => !ids.has(id as string)) : list);
  return flow
    .filter((n) => !ids.has(n.id))
    .map((n) => {
      const refs = [n.wires, n.links, n.nodes, n.scope].flat(2) as unknown[];
      if (!refs.some((id) => ids.has(id as string))) return n;
      const copy: FlowNode = { ...n };
      if (Array.isArray(n.wires)) copy.wires = (n.wires as unknown[]).map(keep);
      for (const key of ['links', 'nodes', 'scope']) if (Array.isArray(n[key])) copy[key] = keep(n[key]);
      return copy as T;
    });
}

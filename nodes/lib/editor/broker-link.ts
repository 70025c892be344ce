/**
 * The editor rows of a node that links to a broker (the integrations ha-discovery and mqtt-api,
 * whose runtime side is nodes/lib/mqtt/integration-link.ts, and command-sender): the store, the
 * broker (the embedded one by node id, or host, port and login), TLS files, and for the
 * integrations the MQTT API's topic prefix and the device types. Written once; the build bundles
 * it into the package's `resources/broker-link.js`, which each such node's .html loads and
 * registers through `PicamBrokerLink.withBrokerLink`. Labels come from each node's own message
 * catalogue (`<type>.label.host`, ...), as its help documents each property.
 */
import { DEFAULT_API_PREFIX, CLOUD_DEVICE_TYPES } from '../contract/mqtt-api';
import { fillTemplate, input, row, type NodeDefinition, type NodeProperty } from './editor-rows';

/** Where a node's edit template takes the broker-link rows. */
export const BROKER_LINK_PLACEHOLDER = 'data-picam-broker-link';

const ROW_CLASS = 'picam-broker-link';

/** What a node takes of the link: command-sender needs its store and no MQTT API rows. */
export interface BrokerLinkParts {
  /** the store is required (the node refuses all input without it); default: optional */
  databaseRequired?: boolean;
  /** the MQTT API's topic prefix and device types; default: shown */
  api?: boolean;
}

/** The broker-link properties with their defaults (the runtime's, from the contract). */
function linkDefaults(parts: BrokerLinkParts): Record<string, NodeProperty> {
  return {
    database: { value: '', type: 'picam-database', required: parts.databaseRequired ?? false },
    broker: { value: '' },
    host: { value: '' },
    port: { value: 1883 },
    usetls: { value: false },
    caFile: { value: '' },
    certFile: { value: '' },
    keyFile: { value: '' },
    ...(parts.api === false ? {} : { apiPrefix: { value: DEFAULT_API_PREFIX }, deviceTypes: { value: CLOUD_DEVICE_TYPES.join(',') } }),
  };
}

/** The rows' HTML for one node type. */
export function brokerLinkRows(type: string, parts: BrokerLinkParts = {}): string {
  const r = (id: string, icon: string, field: string) => row(type, id, icon, id, field, ROW_CLASS);
  const apiRows = [
    r('apiPrefix', 'fa-sitemap', input('apiPrefix', `placeholder="${DEFAULT_API_PREFIX}"`)),
    r('deviceTypes', 'fa-list', input('deviceTypes', `placeholder="${CLOUD_DEVICE_TYPES.join(',')}"`)),
  ];
  return [
    r('database', 'fa-database', input('database')),
    r('broker', 'fa-server', input('broker', 'placeholder="cloud.broker"')),
    r('host', 'fa-globe', input('host')),
    r('port', 'fa-exchange', input('port', 'placeholder="1883"')),
    r('user', 'fa-user', input('user')),
    r('password', 'fa-lock', input('password', '', 'password')),
    r('usetls', 'fa-lock', input('usetls', 'placeholder="false"')),
    r('caFile', 'fa-certificate', input('caFile')),
    r('certFile', 'fa-certificate', input('certFile')),
    r('keyFile', 'fa-key', input('keyFile')),
    ...(parts.api === false ? [] : apiRows),
  ].join('');
}

/**
 * The node's definition with the broker-link properties and login (a credential: the password is
 * never in the flow file) added, and its edit template given the rows where it holds
 * `<div data-picam-broker-link></div>`, for RED.nodes.registerType.
 */
export function withBrokerLink(type: string, definition: NodeDefinition, parts: BrokerLinkParts = {}): NodeDefinition {
  fillTemplate(type, BROKER_LINK_PLACEHOLDER, brokerLinkRows(type, parts));
  return {
    ...definition,
    defaults: { ...definition.defaults, ...linkDefaults(parts) },
    credentials: { ...definition.credentials, user: { type: 'text' }, password: { type: 'password' } },
  };
}

/**
 * What the ha-discovery and mqtt-api nodes share: reading their broker properties (the embedded
 * broker node, or an external broker like command-sender's), and filling their device view from
 * the registry at start. One reading, so both nodes treat a property the same way.
 */
import type { LocalBroker } from './local-broker';
import { localBroker } from './local-broker';
import { openLink, type BrokerLink } from './broker-link';
import { numberSetting } from '../node-config';
import { parseBoolean } from '../settings';
import type { DeviceView, Registered } from './device-view';

export interface BrokerProperties {
  /** the picam-broker node, used whenever it is in the flow */
  broker?: string;
  host?: string;
  port?: string | number;
  usetls?: boolean | string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface LinkContext {
  props: BrokerProperties;
  /** is `props.broker` a picam-broker node of this runtime? */
  brokerInFlow: boolean;
  credentials?: { user?: string; password?: string };
  clientId: string;
  closed: () => boolean;
  onState(connected: boolean, error?: string): void;
  lookUp?: (id: string) => LocalBroker | undefined;
}

export function linkFor(c: LinkContext): Promise<BrokerLink> {
  const p = c.props;
  return openLink(
    {
      embeddedBrokerId: c.brokerInFlow ? p.broker : undefined,
      external: p.host
        ? {
            host: p.host,
            port: numberSetting(p.port, 1883),
            tls: parseBoolean('usetls', p.usetls, false),
            caFile: p.caFile || undefined,
            certFile: p.certFile || undefined,
            keyFile: p.keyFile || undefined,
            username: c.credentials?.user,
            password: c.credentials?.password,
            clientId: c.clientId,
            onState: c.onState,
          }
        : undefined,
      closed: c.closed,
    },
    c.lookUp ?? localBroker,
  );
}

/** An on/off property such as `${PICAM_HA_DISCOVERY}`: empty is off (a plain install). */
export function switchedOn(name: string, raw: string | boolean | undefined): boolean {
  return parseBoolean(name, raw, false);
}

/** The registry's devices into the view; returns how many. */
export async function registerKnown(view: DeviceView, rows: Promise<Registered[]>): Promise<number> {
  const list = await rows;
  for (const row of list) view.register(row);
  return list.length;
}

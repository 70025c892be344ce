/**
 * The life of the ha-discovery and mqtt-api nodes' broker link, which both live the same way:
 * the registry's devices into their view first (so the first announcement is complete), then
 * the link (the embedded broker, or an external one), its state for their status, and at close
 * the link shut and the database released, in that order.
 */
import type { Node, NodeAPI } from 'node-red';
import type { PicamDatabaseNode } from '../store/database-node';
import type { EventStore } from '../store/store';
import { runtimeClientId } from '../runtime-identity';
import type { BrokerLink } from './broker-link';
import type { DeviceView } from './device-view';
import { linkFor, registerKnown, type BrokerProperties } from './integration-settings';
import { EMBEDDED_BROKER_TYPE } from './local-broker';

export interface IntegrationLinkOptions {
  RED: NodeAPI;
  node: Node & { credentials?: { user?: string; password?: string } };
  def: BrokerProperties & { database?: string };
  /** the node's type: its log prefix and its MQTT client id's suffix */
  name: string;
  view: DeviceView;
  /** before the link counts as up: the node's subscriptions */
  subscribe(link: BrokerLink): Promise<void>;
  /** the link is up, first or again (an external broker back after an outage): publish what it must hold */
  up(): void;
  /** the link's state changed: the node's status */
  changed(): void;
}

export class IntegrationLink {
  /** the link once it is up (undefined before, and after a failed start) */
  link?: BrokerLink;
  /** why the link is down, for the status */
  error?: string;
  private closed = false;
  private readonly db: PicamDatabaseNode | null;
  private readonly started: Promise<void>;

  constructor(private readonly o: IntegrationLinkOptions) {
    const { RED, def } = o;
    this.db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    this.started = this.start();
    this.started.catch((err: Error) => {
      this.error = err.message;
      o.node.error(`${o.name}: ${err.message}`);
      o.changed();
    });
  }

  private async start(): Promise<void> {
    const { RED, node, def, view } = this.o;
    // Without the database the node still runs and learns devices from the records that arrive.
    if (this.db) {
      await registerKnown(
        view,
        this.db.acquire(node).then((store: EventStore) => store.knownDevices()),
      ).catch((err: Error) => node.warn(`known devices not loaded: ${err.message}`));
    }
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const link = await linkFor({
      props: def,
      brokerInFlow: !!def.broker && RED.nodes.getNode(def.broker)?.type === EMBEDDED_BROKER_TYPE,
      credentials: node.credentials,
      clientId: runtimeClientId(userDir, this.o.name),
      closed: () => this.closed,
      onState: (up, error) => {
        this.error = up ? undefined : error;
        if (up && this.link) this.o.up();
        this.o.changed();
      },
    });
    if (this.closed) return link.close();
    await this.o.subscribe(link);
    this.link = link;
    this.o.up();
    this.o.changed();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started.catch(() => undefined /* reported when it failed */);
    await this.link?.close();
    if (this.db) await this.db.release(this.o.node);
  }
}

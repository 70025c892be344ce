/**
 * dashboard-feed: hands store records to the dashboard's live feed (the
 * WebSocket at /api/ws). The picam-guardian runtime owns the WebSocket hub and
 * gives it to this node through Node-RED's settings (`picamDashboard`); in a
 * Node-RED without that hub (a stock install) the node says so and drops
 * nothing else: it has no outputs, so the rest of the flow is unaffected.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import type { DashboardHub } from '../lib/contract/feed';
import { feedMessageFor, recordsIn } from './feed-translate';

function hubFrom(settings: unknown): DashboardHub | undefined {
  const hub = (settings as { picamDashboard?: Partial<DashboardHub> } | undefined)?.picamDashboard;
  return hub && typeof hub.broadcast === 'function' && typeof hub.clientCount === 'function' ? (hub as DashboardHub) : undefined;
}

export default function register(RED: NodeAPI): void {
  function DashboardFeed(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const hub = hubFrom(RED.settings);
    let sent = 0;

    if (!hub) status.now('warn', 'off: no dashboard in this runtime');
    else status.now('ok', 'ready');

    node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
      if (hub) {
        for (const record of recordsIn(msg.payload)) {
          const message = feedMessageFor(record);
          if (!message) continue;
          hub.broadcast(message);
          sent++;
        }
        status.soon(() => {
          const n = hub.clientCount();
          return ['ok', `${n} browser${n === 1 ? '' : 's'}, ${sent} sent`];
        });
      }
      done();
    });

    // The sockets belong to the runtime's hub and outlive a redeploy (browsers
    // stay connected); the node only stops its status timer.
    node.on('close', (_removed: boolean, done: () => void) => {
      status.clear();
      done();
    });
  }
  RED.nodes.registerType('dashboard-feed', DashboardFeed as unknown as NodeConstructor);
}

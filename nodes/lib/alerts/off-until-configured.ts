/**
 * An alert node that cannot send yet (no token, no URL in the environment) is off, not broken:
 * each input gets a "suppressed" report with the reason and the status says "off: …". When the
 * admin page supplies what was missing (page-connection.ts), the node starts for real, without
 * a redeploy. Once started, the node's own `off` check (wireAlertNode) covers a later clearing.
 */
import type { Node, NodeMessage, NodeMessageInFlow } from 'node-red';
import { StatusReporter } from '../status';
import { offReport } from './alert-node';

export interface OffUntilConfigured {
  node: Node;
  channel: string;
  outputs: number;
  /** why the node cannot send now; undefined when it can */
  off(): string | undefined;
  /** calls `changed` after each change of what it depends on; returns the function that stops it */
  onChange(changed: () => void): () => void;
  /** wires the working node (once) */
  start(): void;
}

type InputHandler = (msg: NodeMessageInFlow, send: (m: Array<NodeMessage | null>) => void, done: () => void) => void;

/** The input handler of an off node: a "suppressed" report on output 1 saying why, for every input. */
function reportingOff(node: Node, channel: string, outputs: number, why: () => string): InputHandler {
  return (msg, send, done) => {
    const report = { topic: 'delivery/suppressed', payload: offReport(channel, msg.payload, `${node.type} is off: ${why()}`) };
    send([report, ...Array<null>(outputs - 1).fill(null)]);
    done();
  };
}

/** What no page setting can fix (a bad template, no bot node): off until a redeploy, every input reported. */
export function offForGood(node: Node, channel: string, outputs: number, off: string): void {
  // A warning, not an error: the shipped flows hold channels that are off until configured.
  node.warn(`${node.type} is off: ${off}`);
  new StatusReporter(node).now('warn', `off: ${off}`.slice(0, 100));
  node.on(
    'input',
    reportingOff(node, channel, outputs, () => off),
  );
}

export function startWhenConfigured(o: OffUntilConfigured): void {
  const { node } = o;
  let started = false;
  const stopWatching = o.onChange(() => check());
  node.on('close', stopWatching);

  const startNow = () => {
    started = true;
    o.start();
  };
  const firstOff = o.off();
  if (!firstOff) return startNow();

  const status = new StatusReporter(node);
  const offNow = (why: string) => status.now('warn', `off: ${why}`.slice(0, 100));
  const whileOff = reportingOff(node, o.channel, o.outputs, () => o.off() ?? 'starting');
  node.on('input', whileOff);
  // A warning, not an error: the shipped flows hold channels that are off until configured.
  node.warn(`${node.type} is off: ${firstOff}`);
  offNow(firstOff);

  function check(): void {
    if (started) return;
    const why = o.off();
    if (why) return offNow(why);
    node.removeListener('input', whileOff);
    node.log(`${node.type}: configured on the admin page, starting`);
    startNow();
  }
}

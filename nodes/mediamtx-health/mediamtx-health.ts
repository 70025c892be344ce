/**
 * mediamtx-health: polls a MediaMTX server and reports every stream's health.
 *   output 1: changes and a periodic summary   output 2: alerts (alert contract)
 *   output 3: stream-health records (→ sqlite-events)
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import type { MediamtxServerNode } from '../lib/mediamtx/server-node';
import { HealthMonitor } from './monitor';
import { leadershipOf, whileLeader } from '../lib/cluster/leadership';

interface MediamtxHealthDef extends NodeDef {
  server: string;
  intervalSeconds: string | number;
  graceSeconds: string | number;
  summarySeconds: string | number;
}

export default function register(RED: NodeAPI): void {
  function MediamtxHealth(this: Node, def: MediamtxHealthDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    const server = RED.nodes.getNode(def.server) as MediamtxServerNode | null;
    const client = server?.client;
    if (!client) {
      // Off, not broken: a site without MediaMTX still deploys the cloud flow.
      const why = server?.problem ?? 'no MediaMTX server configured';
      status.now('warn', `stream health off: ${why}`);
      node.on('input', (_m: NodeMessageInFlow, _s: unknown, done: (e?: Error) => void) =>
        done(new Error(`mediamtx-health is off: ${why}`)),
      );
      return;
    }
    const out = (i: 0 | 1 | 2, msgs: NodeMessage[]) => {
      const all: Array<NodeMessage[] | null> = [null, null, null];
      all[i] = msgs;
      node.send(all);
    };
    // One runtime polls (the leader; on one box this one): several would store every poll and alert twice.
    // A new leader starts afresh, as after a restart: a stream down stays down for its grace period first.
    const newMonitor = () =>
      new HealthMonitor(
        client,
        {
          intervalMs: Math.max(1, numberSetting(def.intervalSeconds, 5)) * 1000,
          graceMs: numberSetting(def.graceSeconds, 30) * 1000,
          serverName: `MediaMTX at ${server!.apiUrl}`,
        },
        {
          changes: (changes) =>
            out(
              0,
              changes.map((c) => ({ topic: `stream/${c.type}`, payload: c })),
            ),
          records: (records) =>
            records.length &&
            out(
              2,
              records.map((r) => ({ topic: 'stream-health', payload: r })),
            ),
          alerts: (alerts) =>
            out(
              1,
              alerts.map((a) => ({ topic: `alert/${a.kind}`, payload: a })),
            ),
          polled: (error, online, total, version) => {
            if (error) status.now(error.kind === 'unauthorized' ? 'error' : 'warn', `${error.kind}: ${error.message}`.slice(0, 90));
            else status.soon(() => ['ok', `MediaMTX ${version ?? ''}: ${online} of ${total} streams online`]);
          },
        },
      );
    let monitor: HealthMonitor | undefined;
    let closing = false;
    const standby = () => status.now('ok', 'standby: the leader runtime polls MediaMTX');
    const stopPolling = whileLeader(leadershipOf(RED.settings), () => {
      const m = (monitor = newMonitor());
      m.start();
      return () => {
        m.close();
        monitor = undefined;
        if (!closing) standby();
      };
    });
    if (!monitor) standby();
    const summaryTimer = setInterval(
      () => monitor && out(0, [{ topic: 'summary', payload: monitor.health.summary() }]),
      Math.max(5, numberSetting(def.summarySeconds, 60)) * 1000,
    );

    node.on('input', (_msg: NodeMessageInFlow, _send: unknown, done: (e?: Error) => void) => {
      // On a follower the leader's schedule polls: nothing to do here.
      if (!monitor) return done();
      monitor.pollNow().then(() => done(), done);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      stopPolling();
      clearInterval(summaryTimer);
      status.clear();
      done();
    });
  }
  RED.nodes.registerType('mediamtx-health', MediamtxHealth as unknown as NodeConstructor);
}

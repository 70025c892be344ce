/**
 * A Node-RED runtime of its own (a separate process, so a test can kill it with SIGKILL) with
 * amqp-ingest wired to the store stand-in. Prints "ready" once the flow runs, then one JSON
 * line per device message received; "hold" keeps every message uncompleted (never acknowledged).
 *   node --import tsx amqp-consumer-child.ts '<json: {urls, username, password, hold, prefetch}>'
 * The password comes on stdin, as a runtime's credentials would not be on its command line.
 */
import helper from 'node-red-node-test-helper';
import ingestNode from '../../nodes/amqp-ingest/amqp-ingest';
import { storeStandIn } from './store-stand-in';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2]!) as { urls: string; username: string; hold?: boolean; prefetch?: number };
  let password = '';
  for await (const chunk of process.stdin) password += String(chunk);
  const { register, standIn } = storeStandIn();
  standIn.events.on('item', (r) => process.stdout.write(`${JSON.stringify(r)}\n`));
  helper.init(require.resolve('node-red'));
  await helper.startServer();
  await helper.load(
    [ingestNode, register],
    [
      { id: 'in', type: 'amqp-ingest', urls: opts.urls, prefetch: opts.prefetch ?? 50, maxBatch: 20, wires: [['store']] },
      { id: 'store', type: 'store-stand-in', hold: opts.hold === true, wires: [] },
    ],
    { in: { username: opts.username, password } },
  );
  const ingest = helper.getNode('in')!;
  ingest.on('call:status', (call: { args: Array<{ text?: string }> }) => process.stderr.write(`status: ${call.args[0]?.text ?? ''}\n`));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void helper
      .unload()
      .then(() => helper.stopServer())
      .then(() => process.exit(0));
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});

/**
 * A process holding the Pi's outbox, for the kill -9 test: it queues `count`
 * messages through the same store and sender the mqtt-outbox node uses, prints
 * "queued <i>" once each is committed, then waits to be killed.
 *   node --import tsx outbox-child.ts <file> <broker port> <count> <topic>
 */
import { OutboxStore } from '../../nodes/mqtt-outbox/outbox-store';
import { Uplink } from '../../nodes/mqtt-outbox/uplink';

async function main(): Promise<void> {
  const [file, port, count, topic] = process.argv.slice(2);
  const store = await OutboxStore.open({ file: file!, maxBytes: 10 * 1024 * 1024, maxAgeMs: 24 * 3600_000 });
  const uplink = new Uplink(
    store,
    { url: `mqtt://127.0.0.1:${port}`, client: { clientId: 'outbox-child', reconnectPeriod: 200 }, maxInFlight: 5 },
    { onState: () => undefined, onProgress: () => undefined, onMessage: () => undefined, onError: (err) => console.error(err.message) },
  );
  uplink.start();
  for (let i = 0; i < Number(count); i++) {
    await uplink.publish(topic!, Buffer.from(JSON.stringify({ i, timestamp: 1_800_000_000_000 + i })));
    process.stdout.write(`queued ${i}\n`);
  }
  setInterval(() => undefined, 60_000); // stays up, sending, until the test kills it
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exit(1);
});

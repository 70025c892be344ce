/**
 * amqp-ingest in several cloud runtimes, each its own process (as in the cluster role), on a real
 * RabbitMQ node with the shipped definitions: a runtime killed with SIGKILL hands what it held
 * to the next, two runtimes share the device queue, and one at a time takes the connection
 * queue, in order, with the other taking over when it dies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connected, disconnected, heartbeat, topics } from '../../support/fixtures';
import { skipWithoutRabbitMQ } from '../../support/rabbitmq';
import { useRabbitForIngest } from '../../support/rabbitmq-ingest-env';
import { waitFor } from '../../support/wait';

describe('amqp-ingest in several runtimes', { skip: skipWithoutRabbitMQ }, () => {
  const env = useRabbitForIngest();
  const { camera, publish, drained, consumer } = env;

  it('delivers what a runtime held when it was killed again, to the next runtime, marked resent', async () => {
    const doomed = await consumer(true);
    const cam = await camera();
    for (let i = 0; i < 3; i++) await publish(cam, topics.status(), heartbeat(1_800_000_100 + i));
    await waitFor('the held messages', async () => (doomed.received.length >= 3 ? true : undefined), 20_000);
    await waitFor('the broker counting them unacknowledged', async () =>
      (await env.rabbit.queues())['picam.device']!.unacked === 3 ? true : undefined,
    );
    await doomed.kill();

    const next = await consumer();
    await waitFor('the messages again', async () => (next.received.length >= 3 ? true : undefined), 30_000);
    assert.deepEqual(
      next.received.map((r) => [JSON.parse(r.body).timestamp, r.resent]),
      [0, 1, 2].map((i) => [1_800_000_100 + i, true]),
    );
    await drained();
    await next.stop();
  });

  it('shares the device queue between two runtimes, each message to one of them', async () => {
    const [a, b] = [await consumer(false, 5), await consumer(false, 5)];
    const cam = await camera();
    const sent = Array.from({ length: 200 }, (_, i) => 1_800_001_000 + i);
    await Promise.all(sent.map((t) => publish(cam, topics.status(), heartbeat(t))));
    const times = () => [...a!.received, ...b!.received].map((r) => JSON.parse(r.body).timestamp as number);
    await waitFor('every message at one runtime', async () => (times().length >= sent.length ? true : undefined), 30_000);
    await drained();
    assert.deepEqual(
      times().sort((x, y) => x - y),
      sent,
      'each message exactly once',
    );
    assert.ok(a!.received.length > 0 && b!.received.length > 0, `split ${a!.received.length} / ${b!.received.length}`);
    await Promise.all([a!.stop(), b!.stop()]);
  });

  it('gives the connection queue to one runtime at a time, in order, and to the other when it dies', async () => {
    const [first, second] = [await consumer(), await consumer()];
    const cam = await camera();
    const states = (n: number, from: number) => Array.from({ length: n }, (_, i) => (i % 2 ? disconnected(from + i) : connected(from + i)));
    for (const s of states(20, 1_800_002_000)) await publish(cam, topics.connection(), s);
    await waitFor(
      'the connection messages',
      async () => (first!.received.length + second!.received.length >= 20 ? true : undefined),
      20_000,
    );
    await drained();
    const active = first!.received.length > 0 ? first! : second!;
    const standby = active === first ? second! : first!;
    assert.equal(standby.received.length, 0, 'the standby runtime got connection messages');
    assert.deepEqual(
      active.received.map((r) => JSON.parse(r.body).timestamp),
      states(20, 1_800_002_000).map((s) => s.timestamp),
      'in the order the camera sent them',
    );

    await active.kill();
    for (const s of states(4, 1_800_003_000)) await publish(cam, topics.connection(), s);
    await waitFor('the standby took over', async () => (standby.received.length >= 4 ? true : undefined), 30_000);
    assert.deepEqual(
      standby.received.map((r) => JSON.parse(r.body).timestamp),
      states(4, 1_800_003_000).map((s) => s.timestamp),
    );
    await standby.stop();
  });
});

/**
 * mqtt-ingest in a real Node-RED runtime against a real broker: a message the store cannot
 * take yet (its database still failing to open, its wait queue full) is not acknowledged
 * and is sent through the flow again until it is stored. Acknowledging it, as for a bad
 * record, would lose it: the broker would never deliver it again.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import ingestNode from '../../../nodes/mqtt-ingest/mqtt-ingest';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import type { ChildProcess } from 'node:child_process';
import { skipWithoutMosquitto, startMosquitto } from '../../support/mosquitto';
import { freePort } from '../../support/ports';
import { waitFor } from '../../support/wait';
import { environment, PI, topics } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { helper, rows, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const LOGIN = { username: 'picam-cloud', password: 'ingest-secret-for-tests' };

// A real Mosquitto: mqtt-ingest speaks MQTT 5 (session expiry), which aedes does not.
describe('mqtt-ingest', { skip: skipWithoutMosquitto }, () => {
  let broker: ChildProcess;
  let port: number;
  before(async () => {
    port = await freePort();
    broker = startMosquitto(tempDir('picam-ingest-node-'), port, LOGIN);
  });
  after(() => broker.kill('SIGTERM'));

  it('does not acknowledge what the store could not take yet, and stores it once the database opens', async () => {
    const folder = join(tempDir(), 'not-mounted-yet');
    writeFileSync(folder, 'not a folder'); // the database's disk is not there at deploy
    const file = join(folder, 'events.db');
    await helper.load(
      [databaseNode, ingestNode, processorNode, eventsNode],
      [
        // holdSeconds 0: the store refuses at once instead of queueing, as it does when its queue is full.
        { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', holdSeconds: 0 },
        {
          id: 'in',
          type: 'mqtt-ingest',
          host: '127.0.0.1',
          port,
          topic: 'prod/device/#',
          maxInFlight: 50,
          wires: [['proc']],
        },
        { id: 'proc', type: 'mqtt-processor', database: 'db', wires: [['store'], [], [], []] },
        { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [[], []] },
      ],
      { in: { user: LOGIN.username, password: LOGIN.password } },
    );
    const pi = await waitFor('Mosquitto', () =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { ...LOGIN, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
    );
    try {
      // Recent readings: the processor keeps a device time within its clock window.
      const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
      const sent = [1, 2, 3, 4, 5].map((i) => base + i * 1000);
      for (const t of sent) await pi.publishAsync(topics.environment(), JSON.stringify(environment(t)), { qos: 1 });
      // Give the flow time to refuse them all at least once while the database cannot open.
      const logged = () =>
        (helper as unknown as { log(): { args: Array<[{ msg?: unknown }]> } }).log().args.map(([e]) => String(e?.msg ?? ''));
      await until(
        'a reading refused while the database cannot open',
        () => logged().find((m) => /not stored yet, trying again/.test(m)),
        20_000,
      );
      rmSync(folder); // the disk is mounted: the database opens on its next try
      const stored = await waitFor(
        'every reading stored',
        async () => {
          const r = await rows<{ t: number }>(file, 'SELECT time_ms AS t FROM sensor_readings WHERE device_id = ? ORDER BY t', [PI]).catch(
            () => [],
          );
          return r.length >= sent.length ? r : undefined;
        },
        60_000,
      );
      assert.deepEqual(
        stored.map((r) => r.t),
        sent,
      );
    } finally {
      await pi.endAsync();
    }
  });
});

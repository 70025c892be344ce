/**
 * End to end: the Pi role (flows/pi.json, simulated Sense HAT) through an
 * uplink outage. The broker (a real aedes) goes away; the readings and
 * heartbeats the Pi measures meanwhile wait in its outbox on disk and arrive
 * when the broker is back, once, in order, with the time they were measured.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { OutageBroker } from '../support/aedes-broker';
import { cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { crash as crashRuntime } from '../support/processes';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const ID = 'picam-outage';
const ENVIRONMENT = `prod/device/message/picam/${ID}/sensors/environment`;

let broker: OutageBroker | undefined;
let pi: CliProcess | undefined;

// After each case, even a failed one: a runtime left running would keep this file's process alive.
afterEach(async () => {
  await pi?.stop();
  pi = undefined;
  if (broker?.running) await broker.down();
});

/** What the Pi's outbox holds right now, read as another process would. */
async function held(file: string): Promise<Array<{ topic: string; payload: string }> | undefined> {
  try {
    const got = await rows<{ topic: string; payload: Buffer }>(file, 'SELECT topic, payload FROM outbox ORDER BY seq');
    return got.map((r) => ({ topic: r.topic, payload: r.payload.toString() }));
  } catch {
    return undefined; // no outbox (yet): keep waiting
  }
}

async function startPi(dataDir: string, mqttPort: number): Promise<CliProcess> {
  return startCli(
    ['start', '--role', 'pi'],
    cloudRoleEnv(
      dataDir,
      { http: await freePort(), mqtt: mqttPort, ws: await freePort() },
      {
        PICAM_MQTT_HOST: '127.0.0.1',
        PICAM_DEVICE_ID: ID,
        PICAM_SENSEHAT_BACKEND: 'simulated',
        PICAM_SENSEHAT_LED: 'simulated',
        PICAM_CAMERA_SOURCE: 'testsrc',
        PICAM_RTSP_URL: `rtsp://127.0.0.1:${await freePort()}/${ID}`,
      },
    ),
  );
}

describe('Pi runtime through a broker outage', () => {
  for (const crash of [false, true]) {
    const how = crash ? ', though the Pi runtime was killed with SIGKILL meanwhile' : '';
    it(`delivers the readings measured while the broker was down${how}, once and in order, with their own timestamps`, async () => {
      broker = await OutageBroker.start();
      const dataDir = tempDir('picam-pi-outage-');
      pi = await startPi(dataDir, broker.port);
      const readings = () => broker!.on(ENVIRONMENT).map((a) => JSON.parse(a.payload.toString()) as { timestamp: number });
      // This wait includes the runtime's start, which takes long on a loaded machine.
      await waitFor('readings before the outage', async () => (readings().length >= 2 ? true : undefined), RUNTIME_START_MS);

      await broker.down();
      const outageMs = Date.now();
      const file = join(dataDir, 'pi-outbox.db');
      const kept = await waitFor(
        'readings kept on the Pi during the outage',
        async () => {
          const h = await held(file);
          return h && h.filter((m) => m.topic === ENVIRONMENT).length >= 3 ? h : undefined;
        },
        30_000,
      );
      if (crash) {
        await crashRuntime(pi.child);
        pi = await startPi(dataDir, broker.port);
      }
      const before = broker.arrivals.length;
      await broker.up();
      const restartMs = Date.now();

      const arrivedAfter = () => broker!.arrivals.slice(before).map((a) => ({ topic: a.topic, payload: a.payload.toString() }));
      await waitFor(
        'the kept messages at the broker',
        async () => (kept.every((k) => arrivedAfter().some((a) => a.topic === k.topic && a.payload === k.payload)) ? true : undefined),
        crash ? RUNTIME_START_MS : 30_000,
      );
      const replayed = arrivedAfter().filter((a) => kept.some((k) => k.topic === a.topic && k.payload === a.payload));
      assert.deepEqual(replayed, kept, 'each kept message once, in the order it was measured');
      for (const m of kept.filter((k) => k.topic === ENVIRONMENT)) {
        const t = (JSON.parse(m.payload) as { timestamp: number }).timestamp;
        assert.ok(t >= outageMs - 3000 && t < restartMs, 'stamped when measured, during the outage, not when sent');
      }
      const times = readings().map((r) => r.timestamp);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        'the cloud sees the readings in the order they were measured',
      );
      assert.equal(new Set(times).size, times.length, 'no reading twice');
      assert.equal(await pi.stop(), 0, `the Pi runtime stops cleanly:\n${pi.output()}`);
      pi = undefined;
      await broker.down();
    });
  }
});

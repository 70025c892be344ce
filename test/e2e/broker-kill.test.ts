/**
 * Nothing acknowledged is lost with the embedded broker: the cloud runtime
 * (its picam-broker in the same process) killed with SIGKILL while ten Pis
 * publish QoS 1 readings, then started again. The broker dies with the
 * runtime, so what survives is what each Pi's MQTT client keeps: every reading
 * not yet acknowledged stays in its outgoing store and is sent again to the
 * restarted broker. Every reading the broker acknowledged must be a row, which
 * holds only if the PUBACK follows the COMMIT.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { environment, topics } from '../support/fixtures';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-broker-kill-');
const db = join(dir, 'runtime', 'picam-guardian.db');
// Several devices: MQTT.js resends its stored messages one at a time, each after the last one's PUBACK.
const PIS = Array.from({ length: 10 }, (_, i) => `picam-kill-${i}`);
let runtime: CliProcess | undefined;
let pis: MqttClient[] = [];
let ports: { http: number; mqtt: number; ws: number };

const startRuntime = () => startCli(['start', '--role', 'cloud'], cloudRoleEnv(join(dir, 'runtime'), ports));

/** Stored readings of the test's Pis, as "device time_ms". */
const stored = async () =>
  new Set(
    (
      await rows<{ d: string; t: number }>(
        db,
        "SELECT device_id AS d, time_ms AS t FROM sensor_readings WHERE device_id LIKE 'picam-kill-%'",
      ).catch(() => [] as { d: string; t: number }[])
    ).map((r) => `${r.d} ${r.t}`),
  );

describe('the embedded broker across a kill -9 of its runtime', () => {
  before(async () => {
    ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    runtime = startRuntime();
    const connect = (clientId: string) =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId, reconnectPeriod: 0 }).catch(() => undefined);
    await waitFor('the embedded broker', () => connect('picam-kill-probe').then((c) => c?.endAsync().then(() => true)), 90_000);
    pis = await Promise.all(PIS.map(async (id) => (await connect(id))!));
    for (const pi of pis) {
      // From here on each Pi reconnects by itself, as a device does, and resends what was not acknowledged.
      pi.options.reconnectPeriod = 200;
      pi.on('error', () => undefined); // refused reconnects while the runtime is down
    }
  });

  after(async () => {
    await Promise.all(pis.map((pi) => pi.endAsync(true)));
    if (runtime) await runtime.stop();
  });

  it('stores every reading it acknowledged, and the Pis resend the rest to the restarted runtime', async () => {
    const base = Date.now() - 60_000;
    let next = 0;
    const acked = new Set<string>();
    // The kill comes from the acknowledgement itself: a test that first asked the database how far the
    // runtime had got saw, on a loaded machine, the whole burst acknowledged before its kill arrived.
    let killWhenAcked = Infinity;
    let killed: () => void;
    const kill = new Promise<void>((resolve) => (killed = resolve));
    const ack = (key: string) => {
      acked.add(key);
      if (acked.size !== killWhenAcked) return;
      runtime!.child.kill('SIGKILL');
      killed();
    };
    /** `perPi` readings from every Pi; resolves when all are acknowledged */
    const publish = (perPi: number) => {
      const sent: Array<Promise<unknown>> = [];
      for (let i = 0; i < perPi; i++) {
        const t = base + next++;
        PIS.forEach((id, p) => {
          const published = pis[p]!.publishAsync(topics.environment(id), JSON.stringify(environment(t)), { qos: 1 });
          sent.push(published.then(() => ack(`${id} ${t}`)));
        });
      }
      return Promise.all(sent);
    };
    await publish(50);
    assert.equal((await stored()).size, 500, 'the runtime stores readings before the kill');

    // A burst, and the kill while the runtime is in the middle of it: after its first 100 acknowledgements.
    killWhenAcked = 600;
    const burst = publish(500);
    await kill;
    await runtime!.stop();
    const ackedAtKill = acked.size;
    // Published while the runtime is down: they wait in the Pis' clients.
    const whileDown = publish(50);

    runtime = startRuntime();
    await waitFor('every reading acknowledged', () => Promise.all([burst, whileDown]).then(() => true), 120_000);
    const rowsAfter = await stored();
    const lost = [...acked].filter((k) => !rowsAfter.has(k));
    assert.equal(lost.length, 0, `${lost.length} of ${acked.size} acknowledged readings lost (${ackedAtKill} acknowledged at the kill)`);
    assert.equal(acked.size, 6000, 'every reading is acknowledged in the end');
    assert.ok(ackedAtKill < 5500, 'the kill came while readings were in flight');
  });
});

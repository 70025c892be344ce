/**
 * A full disk under the database: the cloud runtime stops acknowledging device
 * messages (Mosquitto keeps them), /healthz answers 503 with the reason, an
 * alert goes out, and once there is room again everything is stored and a
 * recovery alert follows. A kill -9 while the disk is full loses nothing
 * either: what was held was never acknowledged. A real tmpfs of 3 MB is the disk.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { AckedReadings } from '../support/acked-readings';
import { cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { PI } from '../support/fixtures';
import { MOSQUITTO, startMosquitto, shippedMosquittoConfig } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const LOGIN = { username: 'picam-cloud', password: 'disk-secret-for-tests' };
const skip =
  process.getuid?.() !== 0
    ? 'needs root to mount a small tmpfs as a disk that fills up'
    : !MOSQUITTO && !process.env.CI
      ? 'Mosquitto is not installed (scripts/install-test-deps.sh installs it as root)'
      : false;

const dir = tempDir('picam-full-disk-');
const disk = join(dir, 'disk');
const db = join(disk, 'picam-guardian.db');
const filler = join(disk, 'filler');
let mounted = false;
let broker: ChildProcess | undefined;
let runtime: CliProcess | undefined;
let pi: MqttClient | undefined;
let webhook: Server | undefined;
const alerts: string[] = [];
let ports: { http: number; mqtt: number; ws: number };
let hookUrl = '';

const startRuntime = () =>
  startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(join(dir, 'runtime'), ports, {
      PICAM_MQTT_BROKER: 'external',
      MQTT_USERNAME: LOGIN.username,
      MQTT_PASSWORD: LOGIN.password,
      PICAM_DB_FILE: db,
      PICAM_ALERT_WEBHOOK_URL: hookUrl,
      PICAM_LOG_LEVEL: 'info',
    }),
  );

const health = async () => {
  const res = await fetch(`http://127.0.0.1:${ports.http}/healthz`).catch(() => undefined);
  return res ? { status: res.status, body: (await res.json()) as { database: string } } : undefined;
};
const stored = async () =>
  (await rows<{ n: number }>(db, 'SELECT count(*) AS n FROM sensor_readings WHERE device_id = ?', [PI]).catch(() => [{ n: -1 }]))[0]!.n;

/** Fills the tmpfs to the last byte. */
function fillDisk() {
  const fd = openSync(filler, 'a');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // What does not fill a whole chunk, byte by byte in 512s.
  const small = openSync(join(disk, 'filler-tail'), 'a');
  try {
    for (;;) writeSync(small, Buffer.alloc(512));
  } catch {
    /* ENOSPC: full */
  } finally {
    closeSync(small);
  }
}
const freeDisk = () => {
  rmSync(filler, { force: true });
  rmSync(join(disk, 'filler-tail'), { force: true });
};

describe('a full disk under the database', { skip }, () => {
  const readings = new AckedReadings(() => pi!, Date.now() - 120_000);
  const { acked, base } = readings;
  const publish = (count: number) => readings.publish(count);
  const allStored = async () => {
    const storedTimes = async () =>
      new Set(
        (await rows<{ t: number }>(db, 'SELECT time_ms AS t FROM sensor_readings WHERE device_id = ?', [PI]).catch(() => [])).map(
          (r) => r.t,
        ),
      );
    const lost = await readings.missingAfter(storedTimes, 60_000);
    assert.equal(
      lost.length,
      0,
      `${lost.length} of ${acked.size} acknowledged readings lost: ${lost.map((t) => t - base).join(',')}\n${JSON.stringify(await rows(db, 'SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason'))}`,
    );
  };

  before(async () => {
    mkdirSync(disk);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]);
    assert.equal(mount.status, 0, mount.stderr?.toString());
    mounted = true;
    ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        alerts.push(body);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => webhook!.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
    broker = startMosquitto(dir, ports.mqtt, LOGIN, shippedMosquittoConfig(ports.mqtt));
    pi = await waitFor('Mosquitto', () =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGIN, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
    );
    runtime = startRuntime();
    await waitFor(
      'the runtime storing',
      async () => {
        await publish(1);
        return (await stored()) > 0 ? true : undefined;
      },
      30_000,
    );
    // Readings before the runtime's session existed had no subscriber to be queued for.
    acked.clear();
  });

  after(async () => {
    await pi?.endAsync();
    if (runtime) await runtime.stop();
    broker?.kill('SIGTERM');
    await new Promise((r) => webhook?.close(r));
    if (mounted) spawnSync('umount', ['-l', disk]);
  });

  it('holds acknowledgements, says so on /healthz and in an alert, and stores everything once there is room', async () => {
    fillDisk();
    // Readings until the store hits the full disk (free pages inside the file take some first).
    const full = await waitFor(
      '/healthz to report the full disk',
      async () => {
        await publish(200);
        const h = await health();
        return h?.status === 503 ? h : undefined;
      },
      60_000,
    );
    assert.match(full.body.database, /cannot write: disk full/);
    assert.ok((await stored()) < acked.size, 'readings are held, not stored');

    freeDisk();
    await waitFor('/healthz back to 200', async () => ((await health())?.status === 200 ? true : undefined), 60_000);
    await allStored();
    await waitFor(
      'both alerts',
      async () => (alerts.some((a) => /cannot write: disk full/.test(a)) && alerts.some((a) => /writing again/.test(a)) ? true : undefined),
      30_000,
    ).catch(async (err: Error) =>
      assert.fail(
        `${err.message}: ${JSON.stringify(alerts)}\n${JSON.stringify(await rows(db, 'SELECT id, channel, state, attempts, last_error FROM alerts_outbox').catch((e: Error) => e.message))}`,
      ),
    );
  });

  it('loses nothing held while the disk is full when the runtime is killed meanwhile', async () => {
    fillDisk();
    await waitFor(
      '/healthz to report the full disk',
      async () => {
        await publish(200);
        return (await health())?.status === 503 ? true : undefined;
      },
      60_000,
    );
    runtime!.child.kill('SIGKILL');
    await runtime!.stop();
    freeDisk();
    runtime = startRuntime();
    await allStored();
  });
});

/**
 * npm run bench, fault case: kill -9 of the runtime under 2,000 QoS 1 msg/s,
 * with each broker, counting what the publisher saw acknowledged against the
 * rows after a restart (issue 13, item 8; target: 0 lost).
 *
 *   embedded   flows/cloud.json with its picam-broker. The kill takes the broker
 *              down too; the publisher (MQTT.js, reconnecting) keeps what was not
 *              acknowledged in its outgoing store and sends it again to the
 *              restarted runtime.
 *   mosquitto  a real Mosquitto with the shipped cloud/mosquitto/mosquitto.conf
 *              settings (one password listener on a free port), the runtime in
 *              external mode (mqtt-ingest, persistent session). Mosquitto keeps
 *              acknowledging the publisher while the runtime is down.
 *
 * 100 Pis publish environment readings; each reading's device timestamp is
 * unique (base + sequence number), and sensor_readings is keyed by it.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { shippedMosquittoConfig, startMosquitto } from '../test/support/mosquitto';
import { freePort } from '../test/support/ports';
import { BenchPublisher, BenchRuntime, countLoss, sleep, type LossCount } from './acked';
import { machine } from './machine';

const RATE = Number(process.env.BENCH_FAULT_RATE ?? 2000);
const DEVICES = 100;
/** publishing before the kill, with the runtime down, and after it is back */
const BEFORE_S = 4;
const DOWN_S = 2;
const AFTER_S = 4;
const LOGIN = { username: 'picam-bench', password: 'bench-only-password' };

type BrokerKind = 'embedded' | 'mosquitto';

interface FaultResult extends LossCount {
  broker: BrokerKind;
  sent: number;
  /** stored before the kill */
  committedBeforeKill: number;
  /** sent and not yet acknowledged just before the kill: in flight, to be sent again */
  unackedAtKill: number;
  downMs: number;
  seconds: number;
}

async function runCase(broker: BrokerKind): Promise<FaultResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `bench-fault-${broker}-`));
  const dbFile = join(dir, 'events.db');
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  let mosquitto: ChildProcess | undefined;
  let env: Record<string, string> | undefined;
  let url = `mqtt://127.0.0.1:${ports.mqtt}`;
  if (broker === 'mosquitto') {
    const brokerPort = await freePort();
    // Started as root, Mosquitto drops to its own user, which must reach its configuration.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'mosquitto'));
    mosquitto = startMosquitto(join(dir, 'mosquitto'), brokerPort, LOGIN, shippedMosquittoConfig(brokerPort));
    url = `mqtt://127.0.0.1:${brokerPort}`;
    // The runtime's own broker port is Mosquitto's; its embedded broker is not started.
    ports.mqtt = brokerPort;
    env = { PICAM_MQTT_BROKER: 'external', MQTT_USERNAME: LOGIN.username, MQTT_PASSWORD: LOGIN.password };
  }
  const login = broker === 'mosquitto' ? LOGIN : {};
  const base = Date.now() - 10 * 60_000;
  let runtime = await BenchRuntime.start({ dataDir: dir, dbFile, ports, env });
  try {
    await untilStoring(url, login, runtime);
    const publisher = await BenchPublisher.start({ url, devices: DEVICES, kind: 'environment', base, reconnectMs: 250, ...login });
    try {
      publisher.rate(RATE);
      await sleep(BEFORE_S * 1000);
      const committedBeforeKill = await runtime.committed();
      const atKill = await publisher.progress();
      const killedAt = Date.now();
      await runtime.kill();
      await sleep(DOWN_S * 1000);
      runtime = await BenchRuntime.start({ dataDir: dir, dbFile, ports, env });
      const downMs = Date.now() - killedAt;
      await sleep(AFTER_S * 1000);
      const sent = await publisher.pause();
      const last = await publisher.allAcked(60_000);
      if (last.acked < last.sent)
        console.log(`  ${broker}: ${last.sent - last.acked} messages never acknowledged (not counted as acknowledged)`);
      const loss = await countLoss(dbFile, 'environment', base, await publisher.ackedSeqs(), 60_000);
      return {
        broker,
        sent,
        committedBeforeKill,
        unackedAtKill: atKill.sent - atKill.acked,
        downMs,
        seconds: Math.round((Date.now() - started) / 1000),
        ...loss,
      };
    } finally {
      await publisher.stop();
    }
  } finally {
    await runtime.stop();
    mosquitto?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Publishes a probe reading until the runtime stores one: with Mosquitto, readings
 * before the runtime's session exists have no subscriber to be queued for.
 */
async function untilStoring(url: string, login: object, runtime: BenchRuntime): Promise<void> {
  const until = Date.now() + 30_000;
  // The embedded broker starts listening a moment after the runtime reports ready.
  let probe = await mqtt.connectAsync(url, { clientId: 'flpi-probe', reconnectPeriod: 0, ...login }).catch(() => undefined);
  while (!probe && Date.now() < until) {
    await sleep(200);
    probe = await mqtt.connectAsync(url, { clientId: 'flpi-probe', reconnectPeriod: 0, ...login }).catch(() => undefined);
  }
  if (!probe) throw new Error(`no broker at ${url} within 30 s`);
  try {
    while ((await runtime.committed()) === 0) {
      if (Date.now() > until) throw new Error('the runtime stored nothing within 30 s');
      const payload = JSON.stringify({ temperature: 20, humidity: 40, pressure: 1000, timestamp: Date.now() - 3_600_000 });
      await probe.publishAsync('prod/device/message/picam/flpi-probe/sensors/environment', payload, { qos: 1 });
      await sleep(200);
    }
  } finally {
    await probe.endAsync();
  }
}

async function main() {
  const started = Date.now();
  const results: FaultResult[] = [];
  for (const broker of ['embedded', 'mosquitto'] as const) {
    process.stdout.write(`fault (${broker}): kill -9 under ${RATE} QoS 1 msg/s… `);
    const r = await runCase(broker);
    results.push(r);
    console.log(`acknowledged ${r.acknowledged}, stored ${r.stored}, lost ${r.lost}`);
  }
  const lines = [
    `Fault case: kill -9 of the runtime under ${RATE} QoS 1 msg/s from ${DEVICES} Pis, restart after ${DOWN_S} s`,
    `machine: ${machine()}`,
    '',
    '| broker | sent | acknowledged | stored (distinct) | lost | stored before the kill | unacknowledged at the kill | down ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.broker} | ${r.sent} | ${r.acknowledged} | ${r.stored} | ${r.lost} | ${r.committedBeforeKill} | ${r.unackedAtKill} | ${r.downMs} |`,
    ),
    '',
    ...results.map((r) => `${r.broker}: acknowledged ${r.acknowledged}, stored ${r.stored}, lost ${r.lost}`),
    `target: lost 0 with both brokers`,
    `run took ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, 'results', 'fault.json'),
    JSON.stringify({ machine: machine(), results, at: new Date().toISOString() }, null, 2),
  );
  if (results.some((r) => r.lost > 0)) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

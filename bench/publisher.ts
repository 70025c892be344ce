/**
 * Publishes QoS1 device traffic for N simulated devices from a separate
 * process: half VBC01 cameras (activity start/stop, heartbeats), half Pis
 * (environment readings, heartbeats). Every payload carries its send time in
 * `timestamp` (ms), which the runtime side turns into publish→commit latency.
 *
 * Commands over IPC:
 *   {cmd:'window', ahead}    closed loop: keep at most `ahead` messages beyond
 *                            the committed count the parent reports
 *   {cmd:'committed', n}     the runtime's committed count
 *   {cmd:'rate', perSecond}  open loop at a fixed rate
 *   {cmd:'pause'}            stop publishing; replies {sent}
 */
import mqtt, { type MqttClient } from 'mqtt';

// One MQTT connection per device, its id as client id: the embedded broker lets a
// device publish only under its own id (as the Mosquitto ACL does).
const [url, devicesArg] = process.argv.slice(2);
const DEVICES = Number(devicesArg ?? 1000);
// Cameras have VBC01 ids (32 upper-case hex digits), Pis short names.
const deviceId = (device: number) => (device % 2 === 0 ? `CA${String(device).padStart(30, '0')}` : `pi${String(device).padStart(4, '0')}`);

let sent = 0;
let committed = 0;
let seq = 0;
let mode: { kind: 'idle' } | { kind: 'window'; ahead: number } | { kind: 'rate'; perSecond: number } = { kind: 'idle' };
const openEvents = new Map<number, string>();

function nextMessage(): [number, string, string] {
  const n = seq++;
  const device = n % DEVICES;
  const [topic, payload] = messageOf(device, n);
  return [device, topic, payload];
}

function messageOf(device: number, n: number): [string, string] {
  const round = Math.floor(n / DEVICES);
  const now = Date.now();
  if (device % 2 === 0) {
    const id = deviceId(device);
    if (round % 3 === 2)
      return [
        `prod/device/status/hive-cam/${id}`,
        JSON.stringify({ timestamp: now, battery: { level: 80 }, radio: { signalStrength: -60 }, uptime: n, streamState: 'idle' }),
      ];
    const open = openEvents.get(device);
    if (open) {
      openEvents.delete(device);
      return [
        `prod/device/message/hive-cam/${id}/activity/stop`,
        JSON.stringify({ eventId: open, activityType: 'MOTION', timestamp: now }),
      ];
    }
    const eventId = `evt_${device}_${n}`;
    openEvents.set(device, eventId);
    return [
      `prod/device/message/hive-cam/${id}/activity/start`,
      JSON.stringify({ eventId, activityType: 'MOTION', timestamp: now, confidence: 80, region: { x: 1, y: 2, w: 3, h: 4 } }),
    ];
  }
  const id = deviceId(device);
  if (round % 3 === 2) return [`prod/device/status/picam/${id}`, JSON.stringify({ timestamp: now, uptime: n, streamState: 'streaming' })];
  return [
    `prod/device/message/picam/${id}/sensors/environment`,
    JSON.stringify({ temperature: 21.5, humidity: 45, pressure: 1013, timestamp: now }),
  ];
}

async function main() {
  const clients: MqttClient[] = [];
  // In slices, so the broker is not handed 1,000 CONNECTs at once.
  for (let i = 0; i < DEVICES; i += 100) {
    const ids = Array.from({ length: Math.min(100, DEVICES - i) }, (_, k) => deviceId(i + k));
    clients.push(...(await Promise.all(ids.map((clientId) => mqtt.connectAsync(url!, { clientId, reconnectPeriod: 0 })))));
  }
  const publish = () => {
    const [device, topic, payload] = nextMessage();
    clients[device]!.publish(topic, payload, { qos: 1 });
    sent++;
  };

  // Publishing happens in short slices so IPC messages are handled in between.
  setInterval(() => {
    if (mode.kind === 'window') {
      const room = Math.min(committed + mode.ahead - sent, 2000);
      for (let i = 0; i < room; i++) publish();
    }
  }, 2);

  let rateStart = 0;
  let rateSent = 0;
  setInterval(() => {
    if (mode.kind !== 'rate') return;
    const due = Math.floor(((Date.now() - rateStart) / 1000) * mode.perSecond) - rateSent;
    for (let i = 0; i < due; i++) {
      publish();
      rateSent++;
    }
  }, 5);

  process.on('message', (m: { cmd: string; ahead?: number; n?: number; perSecond?: number }) => {
    if (m.cmd === 'window') mode = { kind: 'window', ahead: m.ahead! };
    else if (m.cmd === 'committed') committed = m.n!;
    else if (m.cmd === 'rate') {
      mode = { kind: 'rate', perSecond: m.perSecond! };
      rateStart = Date.now();
      rateSent = 0;
    } else if (m.cmd === 'pause') {
      mode = { kind: 'idle' };
      process.send!({ sent });
    } else if (m.cmd === 'stop') {
      // Forced: the runtime is told to stop at the same moment, and a client still waiting for a
      // PUBACK from a broker that is gone would wait for ever (the run is drained by now).
      void Promise.all(clients.map((c) => c.endAsync(true))).then(() => process.exit(0));
    }
  });
  process.send!({ ready: true, sent });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

/**
 * A publisher that knows which of its messages were acknowledged, for the
 * fault and flood cases. Every message carries a unique key (its sequence
 * number `seq`), visible in the stored row:
 *   environment  Pi readings; the device timestamp is `base + seq` (ms), and
 *                sensor_readings is keyed by (device, time)
 *   activity     camera activity starts; the event id is `fl-<seq>`
 * Each QoS 1 publish's callback runs on its PUBACK: that marks `seq` acked.
 * MQTT.js keeps unacknowledged messages in its outgoing store and sends them
 * again after a reconnect (reconnectPeriod > 0), so a broker that goes away
 * (the embedded one dies with its runtime) gets them again.
 *
 * Args: JSON {url | servers, devices, kind, base, username?, password?, reconnectMs, sendTime?}
 * IPC commands:
 *   {cmd:'rate', perSecond}  open loop at a fixed rate (as fast as it can if it cannot keep up)
 *   {cmd:'window', ahead}    closed loop: at most `ahead` messages beyond the committed count
 *   {cmd:'committed', n}     the committed count (the parent relays it from the runtimes)
 *   {cmd:'pause'}            stop publishing; replies {sent}
 *   {cmd:'progress'}         replies {progress: {sent, acked, failed, connected}}
 *   {cmd:'acked'}            replies {ackedSeqs: number[]}
 *   {cmd:'stop'}             ends every connection and exits
 */
import mqtt, { type MqttClient } from 'mqtt';

export type FloodKind = 'environment' | 'activity';

export interface PublisherArgs {
  /** one broker for every device */
  url?: string;
  /**
   * or several brokers' MQTT ports on 127.0.0.1 (a RabbitMQ cluster): device d connects to
   * servers[d % n] first and, when that node dies, to the next (as HAProxy would send it)
   */
  servers?: number[];
  devices: number;
  kind: FloodKind;
  /** device timestamps are base + seq ms */
  base: number;
  username?: string;
  password?: string;
  /** 0: no reconnect */
  reconnectMs: number;
  /**
   * activity only: the device timestamp is the send time (ms), so the runtime measures
   * publish→commit; the event id `fl-<seq>` stays the key
   */
  sendTime?: boolean;
}

const args = JSON.parse(process.argv[2]!) as PublisherArgs;
// Cameras have VBC01 ids (32 upper-case hex digits), Pis short names.
const deviceId = (device: number) =>
  args.kind === 'activity' ? `F1CA${String(device).padStart(28, '0')}` : `flpi${String(device).padStart(4, '0')}`;

let sent = 0;
let ackedCount = 0;
/** publishes whose callback reported an error (their connection closed before the PUBACK): never acknowledged */
let failed = 0;
/** acked[seq] = 1 once its PUBACK arrived (a resend after a reconnect calls back once) */
let acked = new Uint8Array(1 << 20);
let perSecond = 0;
let rateStart = 0;
let rateSent = 0;
/** closed loop: messages allowed beyond the committed count (0: off) */
let ahead = 0;
let committed = 0;

function markAcked(seq: number): void {
  if (seq >= acked.length) {
    const bigger = new Uint8Array(Math.max(acked.length * 2, seq + 1));
    bigger.set(acked);
    acked = bigger;
  }
  if (!acked[seq]) ackedCount++;
  acked[seq] = 1;
}

function messageOf(seq: number): [number, string, string] {
  const device = seq % args.devices;
  const id = deviceId(device);
  const timestamp = args.sendTime ? Date.now() : args.base + seq;
  if (args.kind === 'environment')
    return [
      device,
      `prod/device/message/picam/${id}/sensors/environment`,
      JSON.stringify({ temperature: 21.5, humidity: 45, pressure: 1013, timestamp }),
    ];
  return [
    device,
    `prod/device/message/hive-cam/${id}/activity/start`,
    JSON.stringify({ eventId: `fl-${seq}`, activityType: 'MOTION', timestamp, confidence: 80, region: { x: 1, y: 2, w: 3, h: 4 } }),
  ];
}

/** Where device d connects: the one broker, or its node of the cluster first and the others after. */
function where(d: number): { servers: Array<{ host: string; port: number }> } {
  if (!args.servers) {
    const u = new URL(args.url!);
    return { servers: [{ host: u.hostname, port: Number(u.port) }] };
  }
  const n = args.servers.length;
  const order = Array.from({ length: n }, (_, k) => args.servers![(d + k) % n]!);
  return { servers: order.map((port) => ({ host: '127.0.0.1', port })) };
}

async function main() {
  const login = args.username ? { username: args.username, password: args.password } : {};
  const clients: MqttClient[] = [];
  // In slices, so the broker is not handed every CONNECT at once.
  for (let i = 0; i < args.devices; i += 100) {
    const ids = Array.from({ length: Math.min(100, args.devices - i) }, (_, k) => deviceId(i + k));
    clients.push(
      ...(await Promise.all(
        ids.map((clientId, k) =>
          mqtt.connectAsync({ ...where(i + k), clientId, reconnectPeriod: args.reconnectMs, connectTimeout: 5000, ...login }),
        ),
      )),
    );
  }
  // A reconnecting client reports the refused connections while the broker is down: expected here.
  for (const c of clients) c.on('error', () => undefined);

  const publish = () => {
    const seq = sent++;
    const [device, topic, payload] = messageOf(seq);
    clients[device]!.publish(topic, payload, { qos: 1 }, (err) => {
      if (!err) markAcked(seq);
      else failed++;
    });
  };

  // Due messages go out in slices of at most 2,000, so IPC is handled in between.
  setInterval(() => {
    if (ahead) {
      const room = Math.min(committed + ahead - sent, 2000);
      for (let i = 0; i < room; i++) publish();
    }
    if (!perSecond) return;
    const due = Math.min(2000, Math.floor(((Date.now() - rateStart) / 1000) * perSecond) - rateSent);
    for (let i = 0; i < due; i++) {
      publish();
      rateSent++;
    }
  }, 5);

  process.on('message', (m: { cmd: string; perSecond?: number; ahead?: number; n?: number }) => {
    if (m.cmd === 'window') ahead = m.ahead!;
    else if (m.cmd === 'committed') committed = m.n!;
    else if (m.cmd === 'rate') {
      ahead = 0;
      perSecond = m.perSecond!;
      rateStart = Date.now();
      rateSent = 0;
    } else if (m.cmd === 'pause') {
      perSecond = 0;
      ahead = 0;
      process.send!({ sent });
    } else if (m.cmd === 'progress') {
      process.send!({ progress: { sent, acked: ackedCount, failed, connected: clients.filter((c) => c.connected).length } });
    } else if (m.cmd === 'acked') {
      const seqs: number[] = [];
      for (let s = 0; s < sent; s++) if (acked[s]) seqs.push(s);
      process.send!({ ackedSeqs: seqs });
    } else if (m.cmd === 'stop') {
      void Promise.all(clients.map((c) => c.endAsync(true))).then(() => process.exit(0));
    }
  });
  process.send!({ ready: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

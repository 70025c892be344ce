/**
 * Device simulator: VBC01 cameras (`hive-cam`) and a Pi (`picam`) publishing
 * the traffic real devices send, at a pace a person can watch. The cameras speak
 * the firmware's protocol (shared/reference/vbc01-protocol.md §1, §5, §6; the
 * README's "VBC01 messages and commands"): 32-hex ids, a Last Will without
 * status, nested heartbeats carrying the camera's IP, lower-case UUID event ids,
 * whole-number confidences; they obey setmode and sound commands, and answer
 * `stream/play` with live H.264 over RTP (simulator-stream.ts). The one field
 * real firmware does not send is the connection's `name`, so the demo's cameras
 * have names.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { simulatedUploads } from './simulator-uploads';
import { SimulatedVbcStreamer, streamCommandOf, type StreamerOptions } from './simulator-stream';

export interface SimulatorOptions {
  url: string;
  username?: string;
  password?: string;
  prefix?: string;
  cameras?: number;
  pis?: number;
  /** multiplies every interval; 0.1 is ten times faster */
  pace?: number;
  log?: (line: string) => void;
  /** the VBC01 gateway (`http://host:port`): each activity also uploads a thumbnail and a recording there */
  gatewayUrl?: string;
  /** the cameras' ids (registered at the gateway); random ones otherwise */
  cameraIds?: string[];
  /** the cameras' livestream (stream/play|keepalive|stop): settings, or false for none */
  stream?: Omit<StreamerOptions, 'name' | 'log'> | false;
}

/** A VBC01 camera id: 32 upper-case hex digits (vbc01-protocol.md §1). */
export const newCameraId = () => randomUUID().replace(/-/g, '').toUpperCase();

export interface Simulator {
  devices: Array<{ id: string; type: string; name: string }>;
  /** each VBC01 camera's livestream, by camera id (none when `stream` is false) */
  streamers: ReadonlyMap<string, SimulatedVbcStreamer>;
  stop(): Promise<void>;
}

const CAMERA_NAMES = ['Front Door', 'Garage', 'Back Garden', 'Driveway', 'Side Gate', 'Porch'];
const ACTIVITY = ['MOTION', 'MOTION', 'MOTION_SMART', 'AUDIO_ALL'];
/** How long a VBC01 plays each sound by itself, in ms (vbc01-protocol.md §6) */
const SOUND_MS: Record<string, number> = { POLICE_SIREN: 20_000, DOG_BARK: 20_000, HOUSE_ALARM: 20_000, LULLABY: 30_000 };

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const nowSec = () => Math.floor(Date.now() / 1000);

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const prefix = opts.prefix ?? 'prod';
  const pace = opts.pace ?? 1;
  const log = opts.log ?? (() => undefined);
  const timers = new Set<NodeJS.Timeout>();
  const clients: MqttClient[] = [];
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(fn, ms * pace);
    timers.add(t);
  };
  const after = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms * pace);
    timers.add(t);
  };
  const devices: Simulator['devices'] = [];
  const streamers = new Map<string, SimulatedVbcStreamer>();
  const uploads = opts.gatewayUrl ? simulatedUploads({ gatewayUrl: opts.gatewayUrl, log }) : undefined;

  const connect = (clientId: string, will?: { topic: string; payload: string; retain: boolean }) =>
    new Promise<MqttClient>((ok, fail) => {
      const c = mqtt.connect(opts.url, {
        clientId,
        username: opts.username || undefined,
        password: opts.password || undefined,
        reconnectPeriod: 2000,
        will: will ? { ...will, qos: 1 } : undefined,
      });
      clients.push(c);
      // The broker may still be starting: mqtt.js retries; give up only after a while.
      const giveUp = setTimeout(() => fail(new Error(`simulator: no MQTT broker at ${opts.url} after 30 s`)), 30_000);
      c.once('connect', () => {
        clearTimeout(giveUp);
        ok(c);
      });
    });
  const send = (c: MqttClient, topic: string, payload: object, retain = false) =>
    c.publish(topic, JSON.stringify(payload), { qos: 1, retain });

  for (let i = 0; i < (opts.cameras ?? 3); i++) {
    const id = opts.cameraIds?.[i] ?? newCameraId();
    const name = CAMERA_NAMES[i % CAMERA_NAMES.length]! + (i >= CAMERA_NAMES.length ? ` ${i + 1}` : '');
    devices.push({ id, type: 'hive-cam', name });
    const base = `${prefix}/device`;
    const connectionTopic = `${base}/connection/hive-cam/${id}`;
    // Its Last Will carries no status: that alone means offline (§5.1).
    const c = await connect(id, { topic: connectionTopic, payload: JSON.stringify({ eventType: 'DISCONNECT' }), retain: false });
    const bootedMs = Date.now();
    let mode = 'ARMED';
    let battery = Math.round(between(60, 100));
    const ip = `192.168.1.${101 + i}`;
    const mac = `02:00:00:00:00:${(16 + i).toString(16).padStart(2, '0')}`;
    const online = () =>
      send(c, connectionTopic, {
        status: 'connected',
        timestamp: nowSec(),
        clientId: id,
        ipAddress: ip,
        device: {
          softwareVersion: 'V0_0_00_117RC_svn1356',
          hardwareVersion: 'VBC01',
          serialNumber: `SN${100000 + i}`,
          deviceType: 'hive-cam',
        },
        name,
      });
    const heartbeat = () => {
      battery = Math.max(5, battery - (Math.random() < 0.2 ? 1 : 0));
      send(c, `${base}/status/hive-cam/${id}`, {
        timestamp: nowSec(),
        status: 'online',
        battery: { level: battery, voltage: 3.6 + battery / 200, chargingStatus: 'NOT_CHARGING', temperature: Math.round(between(20, 30)) },
        radio: { signalStrength: Math.round(between(-75, -45)), networkType: 'WIFI', carrier: 'home' },
        ethernet: { ipAddress: ip, macAddress: mac, linkStatus: 'UP' },
        temperature: Math.round(between(28, 42) * 10) / 10,
        uptime: Math.round((Date.now() - bootedMs) / 1000),
      });
    };
    // Every (re)connect: hello, then a heartbeat so the cloud learns the address at once.
    c.on('connect', () => {
      online();
      heartbeat();
    });
    online();
    heartbeat();
    send(c, `${base}/message/hive-cam/${id}/camera/state`, { mode, timestamp: nowSec() });
    c.subscribe(`${prefix}/honeycomb/${id}/#`, { qos: 1 });
    const streamer = opts.stream === false ? undefined : new SimulatedVbcStreamer({ ...opts.stream, name, log });
    if (streamer) streamers.set(id, streamer);
    let soundTimer: NodeJS.Timeout | undefined;
    const stopSound = (why: string) => {
      if (!soundTimer) return;
      clearTimeout(soundTimer);
      timers.delete(soundTimer);
      soundTimer = undefined;
      log(`${name}: sound stopped (${why})`);
    };
    c.on('message', (topic, payload) => {
      let m: { mode?: string; soundType?: string };
      try {
        m = JSON.parse(payload.toString()) as typeof m;
      } catch {
        return; // the firmware ignores what it cannot read
      }
      if (topic.endsWith('/system/setmode') && m.mode) {
        mode = m.mode;
        log(`${name}: mode → ${mode}`);
        send(c, `${base}/message/hive-cam/${id}/camera/state`, { mode, timestamp: nowSec() });
      } else if (topic.endsWith('/sound/play') && m.soundType && SOUND_MS[m.soundType]) {
        stopSound('replaced');
        log(`${name}: playing ${m.soundType}`);
        // Not paced: a sound lasts as long as the camera plays it.
        soundTimer = setTimeout(() => {
          soundTimer = undefined;
          log(`${name}: ${m.soundType} finished`);
        }, SOUND_MS[m.soundType]);
        timers.add(soundTimer);
      } else if (topic.endsWith('/sound/stop')) stopSound('asked');
      else {
        const streamCommand = streamCommandOf(topic);
        if (streamCommand) streamer?.command(streamCommand, m);
      }
    });
    every(10_000, heartbeat);
    const activity = () => {
      after(between(8_000, 30_000), () => {
        if (mode !== 'PRIVACY') {
          const eventId = randomUUID(); // lower-case, with dashes: upload file names carry it
          const activityType = pick(ACTIVITY);
          send(c, `${base}/message/hive-cam/${id}/activity/start`, {
            eventId,
            activityType,
            timestamp: nowSec(),
            confidence: Math.round(between(55, 99)),
            region: { x: Math.round(between(0, 60)), y: Math.round(between(0, 60)), w: 30, h: 30 },
          });
          log(`${name}: ${activityType} ${eventId}`);
          uploads?.({ cameraId: id, eventId, activityType }).catch((err: Error) =>
            log(`${name}: upload of ${eventId} failed: ${err.message}`),
          );
          after(between(2_000, 9_000), () =>
            send(c, `${base}/message/hive-cam/${id}/activity/stop`, { eventId, activityType, timestamp: nowSec() }),
          );
        }
        activity();
      });
    };
    activity();
    // Now and then a camera drops off Wi-Fi: its connection breaks, the broker publishes
    // its Will, and it reconnects by itself (the flap is debounced).
    every(between(90_000, 180_000), () => c.stream.destroy());
  }

  for (let i = 0; i < (opts.pis ?? 1); i++) {
    const id = `picam-${i + 1}`;
    devices.push({ id, type: 'picam', name: `Pi camera ${i + 1}` });
    const topic = `${prefix}/device/connection/picam/${id}`;
    const c = await connect(id, { topic, payload: JSON.stringify({ status: 'disconnected' }), retain: true });
    send(
      c,
      topic,
      {
        status: 'connected',
        timestamp: nowSec(),
        name: `Pi camera ${i + 1}`,
        device: { hardwareVersion: 'Raspberry Pi 5', softwareVersion: 'picam-guardian' },
      },
      true,
    );
    let t = between(20, 23);
    let h = between(40, 50);
    let p = between(1005, 1020);
    every(2_000, () => {
      // A slow random walk looks like a room, not like noise.
      t += between(-0.05, 0.05);
      h = Math.min(100, Math.max(0, h + between(-0.2, 0.2)));
      p += between(-0.05, 0.05);
      send(c, `${prefix}/device/message/picam/${id}/sensors/environment`, {
        temperature: Math.round(t * 100) / 100,
        humidity: Math.round(h * 100) / 100,
        pressure: Math.round(p * 100) / 100,
        timestamp: Date.now(),
      });
    });
    every(10_000, () =>
      send(c, `${prefix}/device/status/picam/${id}`, {
        timestamp: nowSec(),
        uptime: Math.round(process.uptime()),
        streamState: 'streaming',
      }),
    );
  }

  return {
    devices,
    streamers,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // No stream and no ffmpeg outlive the simulator.
      await Promise.all([...streamers.values()].map((s) => s.close()));
      // A clean DISCONNECT, but never a stop held up by it: a broker that has not read it yet
      // (it is busy, or holds the camera's last message for its commit) gets the socket closed.
      await Promise.all(clients.map((c) => endWithin(c, END_GRACE_MS)));
    },
  };
}

/** How long a simulated camera waits for the broker to take its DISCONNECT before it just closes. */
const END_GRACE_MS = 3000;

async function endWithin(client: MqttClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  const tooLate = await Promise.race([client.endAsync().then(() => false), late]);
  clearTimeout(timer);
  // A second end() while the first waits (for PUBACKs, or the broker to close) only returns.
  if (tooLate) client.stream?.destroy();
}

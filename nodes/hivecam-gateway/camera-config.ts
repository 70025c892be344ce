/**
 * `GET /hivecam/{camera_id}`'s answer as the firmware reads it (vbc01-protocol.md
 * §3.1): the broker, the camera's own topics, the time server, its intervals and
 * the servers it uploads to and fetches certificates from.
 */
import { VBC01_DEVICE_TYPE } from '../lib/vbc01';

export interface CameraTopics {
  connect: string;
  /** the same topic as `connect`: the camera's will and goodbye go there */
  disconnect: string;
  status: string;
  /** base of `activity/…` and `camera/state` */
  publish: string;
  /** base of every command (`{subscribe}/system/setmode`, …) */
  subscribe: string;
}

export interface CameraConfig {
  mqtt: { broker: string; port: number; topics: CameraTopics };
  timeServer: string;
  /** seconds */
  wakeupInterval: number;
  /** seconds; by its name the heartbeat period */
  statusInterval: number;
  fileUploadServerUrl: string;
  /** no firmware route exists here (nor on the real platform); named because the firmware expects the key */
  firmwareServerUrl: string;
  certificateServerUrl: string;
}

export interface ConfigSettings {
  brokerHost: string;
  brokerPort: number;
  /** topic prefix, `prod` */
  prefix: string;
  /** how cameras reach this server, e.g. `https://192.168.1.10:80` (no trailing slash) */
  publicUrl: string;
  timeServer: string;
}

/** The real platform's values (§3.1, §9). */
export const DEFAULT_TIME_SERVER = 'time.google.com';
export const WAKEUP_INTERVAL_S = 604_800;
export const STATUS_INTERVAL_S = 600;

export function cameraConfig(cameraId: string, s: ConfigSettings): CameraConfig {
  const device = (kind: string) => `${s.prefix}/device/${kind}/${VBC01_DEVICE_TYPE}/${cameraId}`;
  return {
    mqtt: {
      broker: s.brokerHost,
      port: s.brokerPort,
      topics: {
        connect: device('connection'),
        disconnect: device('connection'),
        status: device('status'),
        publish: device('message'),
        subscribe: `${s.prefix}/honeycomb/${cameraId}`,
      },
    },
    timeServer: s.timeServer,
    wakeupInterval: WAKEUP_INTERVAL_S,
    statusInterval: STATUS_INTERVAL_S,
    fileUploadServerUrl: `${s.publicUrl}/fileservice`,
    firmwareServerUrl: `${s.publicUrl}/firmware`,
    certificateServerUrl: s.publicUrl,
  };
}

/**
 * The URL cameras are told to use: the configured one, else this server's
 * scheme with the broker's host (the name or address cameras already reach us by)
 * and the port the gateway listens on.
 */
export function publicUrl(configured: string, o: { https: boolean; host: string; port: number }): string {
  const url = configured.trim().replace(/\/+$/, '');
  if (url) {
    if (!/^https?:\/\/[^/\s]+$/i.test(url))
      throw new Error(`the public URL must be http(s)://host[:port] (got ${JSON.stringify(configured)})`);
    return url;
  }
  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  return `${o.https ? 'https' : 'http'}://${host}:${o.port}`;
}

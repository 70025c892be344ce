/**
 * mqtt-outbox's editor properties as a checked, typed configuration: a value
 * that cannot work is refused at deploy with a message that names it.
 */
import { isAbsolute, join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import type { NodeDef } from 'node-red';
import { brokerUrl } from '../lib/mqtt/broker-connection';
import { numberSetting } from '../lib/node-config';
import type { Announcement } from './uplink';
import { parseBoolean } from '../lib/settings';

export interface MqttOutboxDef extends NodeDef {
  broker: string;
  port: string | number;
  usetls: boolean | string;
  tls: string;
  clientid: string;
  keepalive: string | number;
  connectionTopic: string;
  birthPayload: string;
  willPayload: string;
  subscribe: string;
  topic: string;
  file: string;
  maxMiB: string | number;
  maxHours: string | number;
  maxInFlight: string | number;
}

export interface MqttOutboxCredentials {
  user?: string;
  password?: string;
}

/**
 * The outbox bounds when neither the node nor the environment sets them (the
 * runtime's PICAM_OUTBOX_MAX_MB / PICAM_OUTBOX_MAX_HOURS default to these).
 * A week, because the cloud accepts device timestamps up to 7 days old; older
 * readings would not be stored as measured anyway.
 */
export const OUTBOX_DEFAULTS = { maxMiB: 100, maxHours: 168, maxInFlight: 10, keepalive: 60 } as const;

export interface OutboxSettings {
  url: string;
  client: IClientOptions;
  birth?: Announcement;
  goodbye?: Announcement;
  subscribe?: string;
  /** used when msg.topic is not set */
  topic?: string;
  file: string;
  maxBytes: number;
  maxAgeMs: number;
  maxInFlight: number;
}

const MIB = 1024 * 1024;

function positive(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isFinite(value) || value <= 0 || value > max)
    throw new Error(`${name} must be a number above 0${max < Number.MAX_SAFE_INTEGER ? ` and at most ${max}` : ''} (got ${value})`);
  return value;
}

export function outboxSettings(def: MqttOutboxDef, creds: MqttOutboxCredentials, userDir: string, reconnectMs: number): OutboxSettings {
  const tls = parseBoolean('usetls', def.usetls, false);
  const keepalive = numberSetting(def.keepalive, OUTBOX_DEFAULTS.keepalive);
  const file = def.file?.trim() || `mqtt-outbox-${def.id}.db`;
  const connectionTopic = def.connectionTopic?.trim();
  return {
    url: brokerUrl({ host: def.broker ?? '', port: numberSetting(def.port, tls ? 8883 : 1883), tls }),
    client: {
      clientId: def.clientid?.trim() || undefined,
      username: creds.user || undefined,
      password: creds.password || undefined,
      keepalive: positive('keep-alive', keepalive, 65535),
      reconnectPeriod: reconnectMs,
      connectTimeout: 30_000,
      protocolVersion: 4,
    },
    birth: connectionTopic && def.birthPayload ? { topic: connectionTopic, payload: def.birthPayload } : undefined,
    goodbye: connectionTopic && def.willPayload ? { topic: connectionTopic, payload: def.willPayload } : undefined,
    subscribe: def.subscribe?.trim() || undefined,
    topic: def.topic?.trim() || undefined,
    file: isAbsolute(file) ? file : join(userDir, file),
    maxBytes: Math.round(positive('maximum size (MiB)', numberSetting(def.maxMiB, OUTBOX_DEFAULTS.maxMiB)) * MIB),
    maxAgeMs: Math.round(positive('maximum age (hours)', numberSetting(def.maxHours, OUTBOX_DEFAULTS.maxHours)) * 3600_000),
    maxInFlight: Math.round(positive('messages in flight', numberSetting(def.maxInFlight, OUTBOX_DEFAULTS.maxInFlight), 1000)),
  };
}

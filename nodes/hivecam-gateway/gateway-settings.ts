/**
 * The gateway node's editor settings, checked and turned into what its parts
 * use: folders under the user directory, the cameras' port and limits, the
 * answer cameras get from the config route, and the HTTPS transport.
 */
import { isAbsolute, join } from 'node:path';
import { numberSetting } from '../lib/node-config';
import { DEFAULTS, parseBoolean, parseCameraCertMode, type CameraCertMode } from '../lib/settings';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../lib/uploads/safe-zip';
import { DEFAULT_TIME_SERVER, publicUrl, type ConfigSettings } from './camera-config';
import { INCOMING_DIR } from './retention';
import type { TransportSettings } from './transport';

/** The node's properties as the editor saves them (numbers may be `${ENV}` strings). */
export interface HivecamGatewayProps {
  port: string | number;
  bind: string;
  /** true/false, or `${PICAM_GATEWAY_HTTPS}` resolved to a string */
  https: boolean | string;
  tlsCert: string;
  tlsKey: string;
  publicUrl: string;
  prefix: string;
  timeServer: string;
  brokerHost: string;
  brokerPort: string | number;
  certDir: string;
  /** `shared` (default) or `per-camera`, or `${PICAM_CERT_MODE}` resolved */
  certMode?: string;
  uploadDir: string;
  maxUploadMB: string | number;
  uploadIdleS: string | number;
  uploadMaxMinutes: string | number;
  retainDays: string | number;
  ffmpeg: string;
}

export interface GatewaySettings {
  certDir: string;
  /** what the certificate endpoint hands a camera: the shared certificate or its own */
  certMode: CameraCertMode;
  uploadsRoot: string;
  /** where bodies are written while they arrive */
  tmpDir: string;
  port: number;
  bind: string;
  https: boolean;
  transport: TransportSettings;
  /** what the config route tells cameras */
  config: ConfigSettings;
  /** the installer set the URL cameras dial (else it is taken from the request: public-base.ts) */
  publicUrlSet: boolean;
  maxUploadBytes: number;
  uploadIdleMs: number;
  uploadDeadlineMs: number;
  zipLimits: ZipLimits;
  retainDays: number;
  ffmpeg: string;
}

/** The settings, or throws an Error that says which one is wrong. */
export function gatewaySettings(def: HivecamGatewayProps, userDir: string): GatewaySettings {
  const inUserDir = (p: string, fallback: string) => (p ? (isAbsolute(p) ? p : join(userDir, p)) : join(userDir, fallback));
  const certDir = inUserDir(def.certDir, 'certs');
  const uploadsRoot = inUserDir(def.uploadDir, 'uploads');
  const port = numberSetting(def.port, 8080);
  const https = parseBoolean('https', def.https, false);
  const brokerHost = def.brokerHost || '127.0.0.1';
  return {
    certDir,
    certMode: parseCameraCertMode(def.certMode),
    uploadsRoot,
    tmpDir: join(uploadsRoot, INCOMING_DIR),
    port,
    bind: def.bind || '0.0.0.0',
    https,
    transport: { https, certFile: def.tlsCert ?? '', keyFile: def.tlsKey ?? '', certDir },
    config: {
      brokerHost,
      brokerPort: numberSetting(def.brokerPort, 8883),
      prefix: (def.prefix || 'prod').replace(/\/+$/, ''),
      publicUrl: publicUrl(def.publicUrl ?? '', { https, host: brokerHost, port }),
      timeServer: def.timeServer || DEFAULT_TIME_SERVER,
    },
    publicUrlSet: !!def.publicUrl?.trim(),
    maxUploadBytes: numberSetting(def.maxUploadMB, DEFAULTS.uploadMaxMB) * 1024 * 1024,
    // A camera on a slow link still sends something every few seconds; a stalled body is cut off.
    uploadIdleMs: Math.max(1, numberSetting(def.uploadIdleS, 30)) * 1000,
    uploadDeadlineMs: Math.max(1 / 60, numberSetting(def.uploadMaxMinutes, 10)) * 60_000,
    zipLimits: DEFAULT_ZIP_LIMITS,
    retainDays: numberSetting(def.retainDays, DEFAULTS.uploadRetainDays),
    ffmpeg: def.ffmpeg || 'ffmpeg',
  };
}

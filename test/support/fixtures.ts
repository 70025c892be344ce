import type { Alert } from '../../nodes/lib/types';

/** Realistic device payloads (what VBC01 firmware sends, vbc01-protocol.md §5) shared by the tests. */
export const CAMERA = '67E48798E70345179A86980A7CAAAE73';
/** VBC01 ids are 32 upper-case hex digits (vbc01-protocol.md §1) */
export const CAMERA_2 = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
export const PI = 'picam-kitchen';

export const topics = {
  connection: (id = CAMERA, type = 'hive-cam') => `prod/device/connection/${type}/${id}`,
  status: (id = CAMERA, type = 'hive-cam') => `prod/device/status/${type}/${id}`,
  start: (id = CAMERA, type = 'hive-cam') => `prod/device/message/${type}/${id}/activity/start`,
  stop: (id = CAMERA, type = 'hive-cam') => `prod/device/message/${type}/${id}/activity/stop`,
  state: (id = CAMERA, type = 'hive-cam') => `prod/device/message/${type}/${id}/camera/state`,
  environment: (id = PI) => `prod/device/message/picam/${id}/sensors/environment`,
};

export const connected = (timestamp = 1705329045, extra: object = {}) => ({
  status: 'connected',
  timestamp,
  name: 'Front Door',
  device: { softwareVersion: 'V0_0_00_117RC_svn1356', hardwareVersion: 'VBC01', serialNumber: 'SN123456' },
  ipAddress: '192.168.1.101',
  ...extra,
});

export const disconnected = (timestamp = 1705329100) => ({ status: 'disconnected', timestamp });

export const heartbeat = (timestamp = 1705329060) => ({
  timestamp,
  status: 'online',
  battery: { level: 87, voltage: 4.1, chargingStatus: 'NOT_CHARGING', temperature: 31 },
  radio: { signalStrength: -61, networkType: 'WIFI', carrier: 'home' },
  ethernet: { ipAddress: '192.168.1.101', macAddress: '00:11:22:33:44:55', linkStatus: 'up' },
  temperature: 38.5,
  uptime: 3600,
  streamState: 'idle',
});

export const activity = (eventId: string, timestamp: number, activityType = 'MOTION') => ({
  eventId,
  activityType,
  timestamp,
  confidence: 85,
  region: { x: 10, y: 20, w: 30, h: 30 },
});

export const environment = (timestamp = 1705329045123) => ({ temperature: 21.5, humidity: 45.2, pressure: 1013.2, timestamp });

/** A motion alert on the alert contract, as mqtt-processor emits it. */
export const motionAlert = (eventId: string, extra: Partial<Alert> = {}): Alert => ({
  kind: 'activity',
  deviceId: CAMERA,
  deviceName: 'Front Door',
  timeMs: Date.UTC(2026, 10, 27, 1, 2, 3),
  severity: 'warning',
  text: 'motion detected on Front Door',
  eventId,
  activityType: 'MOTION',
  mode: 'ARMED',
  ...extra,
});

/** Store records as mqtt-processor emits them, and a reader for the rows they become. */
import type { StoreRecord } from '../../nodes/lib/types';
import { Connection } from '../../nodes/lib/store/sqlite';
import { CAMERA, PI } from './fixtures';

/** Reads with an independent connection: what another process would see on disk. */
export async function rows<T = Record<string, unknown>>(file: string, sql: string, params: (string | number)[] = []): Promise<T[]> {
  const c = await Connection.open(file, true);
  try {
    return await c.all<T>(sql, params);
  } finally {
    await c.close();
  }
}

export const conn = (timeMs: number, status: 'connected' | 'disconnected' = 'connected', name = 'Front Door'): StoreRecord => ({
  kind: 'connection',
  deviceId: CAMERA,
  deviceType: 'hive-cam',
  timeMs,
  status,
  name,
  ipAddress: '192.168.1.101',
  firmwareVersion: 'fw1',
  raw: '{}',
});
export const start = (eventId: string, timeMs: number, deviceId = CAMERA, activityType = 'MOTION'): StoreRecord => ({
  kind: 'activity-start',
  deviceId,
  deviceType: 'hive-cam',
  timeMs,
  eventId,
  activityType,
  confidence: 0.9,
});
export const stop = (eventId: string, timeMs: number): StoreRecord => ({
  kind: 'activity-stop',
  deviceId: CAMERA,
  deviceType: 'hive-cam',
  timeMs,
  eventId,
  activityType: 'MOTION',
});
export const reading = (timeMs: number, temperature: number): StoreRecord => ({
  kind: 'sensor',
  deviceId: PI,
  deviceType: 'picam',
  timeMs,
  temperature,
  humidity: 40,
  pressure: 1000,
});

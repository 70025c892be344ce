/**
 * What a camera node (rpicam-rtsp, ipcam) accepts on its input: start/stop/restart, a camera mode
 * (as a string, or the cloud's setmode command payload), or a snapshot request.
 */
import type { NodeMessageInFlow } from 'node-red';
import { readZones, ZonesError, type ZonePolygon } from '../contract/zones';
import { CAMERA_MODES, type CameraMode } from '../types';

export type CameraInput =
  | { type: 'start' | 'stop' | 'restart' }
  | { type: 'mode'; mode: CameraMode }
  | { type: 'snapshot'; requestId?: string }
  | { type: 'zones'; zones: ZonePolygon[] }
  | { type: 'invalid'; reason: string };

const ACTIONS = ['start', 'stop', 'restart'] as const;

export function readCameraInput(msg: NodeMessageInFlow): CameraInput {
  const { topic, payload } = msg;
  const p = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  const action = (ACTIONS as readonly unknown[]).includes(payload)
    ? payload
    : (ACTIONS as readonly unknown[]).includes(topic)
      ? topic
      : undefined;
  if (action) return { type: action as 'start' | 'stop' | 'restart' };
  if (topic === 'snapshot' || payload === 'snapshot') {
    const requestId = p?.requestId;
    if (requestId !== undefined && (typeof requestId !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(requestId))) {
      return { type: 'invalid', reason: 'snapshot requestId must be a short id string' };
    }
    return { type: 'snapshot', requestId: requestId as string | undefined };
  }
  // Masks and zones: the list as msg.payload with topic "zones", or the cloud's zones command ({zones, requestId, …}).
  const zones = topic === 'zones' ? payload : p && 'zones' in p ? p.zones : undefined;
  if (zones !== undefined) {
    try {
      return { type: 'zones', zones: readZones(zones) };
    } catch (err) {
      if (err instanceof ZonesError) return { type: 'invalid', reason: err.message };
      throw err;
    }
  }
  // A mode as msg.payload ("ARMED") with topic "mode", or the cloud's setmode command ({mode, requestId, …}).
  const mode = topic === 'mode' && typeof payload === 'string' ? payload : p?.mode;
  if (mode !== undefined) {
    const upper = typeof mode === 'string' ? mode.trim().toUpperCase() : '';
    if (!(CAMERA_MODES as readonly string[]).includes(upper)) {
      return { type: 'invalid', reason: `mode must be one of ${CAMERA_MODES.join(', ')} (got ${JSON.stringify(mode)})` };
    }
    return { type: 'mode', mode: upper as CameraMode };
  }
  return {
    type: 'invalid',
    reason:
      'expected "start", "stop", "restart", "snapshot" (msg.topic or msg.payload), a mode (msg.topic "mode"), a setmode payload {mode} or zones (msg.topic "zones")',
  };
}

/**
 * What an IP camera tells the cloud, in the VBC01 topic tree under device
 * type `ipcam` (DESIGN.md §5): connection, heartbeat, motion events with
 * their thumbnail, and the mode it runs in. The node sends these on its first
 * output, ready for an `mqtt out` / `mqtt-outbox` (the Pi) or the cloud's
 * broker (a camera the cloud reaches itself).
 */
import type { ActivityPayload, CameraMode, ConnectionPayload, HeartbeatPayload } from '../lib/types';

export const IPCAM_DEVICE_TYPE = 'ipcam';

export interface DeviceMessage {
  topic: string;
  payload: ConnectionPayload | HeartbeatPayload | ActivityPayload | { mode: CameraMode; timestamp: number } | Buffer;
  /** connection messages are retained, as the Pi's own */
  retain?: boolean;
  /** the camera the message is about */
  deviceId: string;
}

export class DeviceTopics {
  constructor(
    private readonly prefix: string,
    private readonly id: string,
  ) {}

  connection(status: 'connected' | 'disconnected', name: string, ipAddress?: string): DeviceMessage {
    const payload: ConnectionPayload = { status, timestamp: Date.now(), name, device: { name }, ...(ipAddress ? { ipAddress } : {}) };
    return { topic: `${this.prefix}/device/connection/${IPCAM_DEVICE_TYPE}/${this.id}`, payload, retain: true, deviceId: this.id };
  }

  heartbeat(payload: HeartbeatPayload): DeviceMessage {
    return { topic: `${this.prefix}/device/status/${IPCAM_DEVICE_TYPE}/${this.id}`, payload, deviceId: this.id };
  }

  activity(kind: 'start' | 'stop', payload: ActivityPayload): DeviceMessage {
    return { topic: `${this.message()}/activity/${kind}`, payload, deviceId: this.id };
  }

  thumbnail(eventId: string, jpeg: Buffer): DeviceMessage {
    return { topic: `${this.message()}/activity/thumbnail/${eventId}`, payload: jpeg, deviceId: this.id };
  }

  /**
   * The mode it obeys. `camera/state` counts as a heartbeat (vbc01-protocol.md §5.4), and one
   * without a status means online: `connected` says whether frames come, so a camera that is
   * not reachable is not shown online because its mode was set.
   */
  mode(mode: CameraMode, connected: boolean): DeviceMessage {
    const status = connected ? 'online' : 'not-streaming';
    return { topic: `${this.message()}/camera/state`, payload: { mode, status, timestamp: Date.now() }, deviceId: this.id };
  }

  private message(): string {
    return `${this.prefix}/device/message/${IPCAM_DEVICE_TYPE}/${this.id}`;
  }
}

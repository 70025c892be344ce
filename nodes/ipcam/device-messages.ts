/**
 * What an IP camera tells the cloud, in the VBC01 topic tree under device
 * type `ipcam` (DESIGN.md §5): connection, heartbeat, motion events with
 * their thumbnail, and the mode it runs in. The node sends these on its first
 * output, ready for an `mqtt out` / `mqtt-outbox` (the Pi) or the cloud's
 * broker (a camera the cloud reaches itself).
 */
import { HOSTED_DEVICE_TYPE, hostedDeviceId } from '../lib/hosted-devices';
import type { ActivityPayload, CameraMode, ConnectionPayload, HeartbeatPayload } from '../lib/types';

export const IPCAM_DEVICE_TYPE = HOSTED_DEVICE_TYPE;

export interface DeviceMessage {
  topic: string;
  payload: ConnectionPayload | HeartbeatPayload | ActivityPayload | { mode: CameraMode; timestamp: number } | Buffer;
  /** connection messages are retained, as the Pi's own */
  retain?: boolean;
  /** the camera the message is about */
  deviceId: string;
}

export class DeviceTopics {
  /** the camera's device id in the cloud: its own, or `{host}.{id}` when hosted */
  private readonly id: string;
  /** the topic levels after the type: `{id}`, or `{host}/{id}` when hosted */
  private readonly levels: string;

  constructor(
    private readonly prefix: string,
    cameraId: string,
    host?: string,
  ) {
    this.id = host ? hostedDeviceId(host, cameraId) : cameraId;
    this.levels = host ? `${host}/${cameraId}` : cameraId;
  }

  connection(status: 'connected' | 'disconnected', name: string, ipAddress?: string): DeviceMessage {
    const payload: ConnectionPayload = { status, timestamp: Date.now(), name, device: { name }, ...(ipAddress ? { ipAddress } : {}) };
    return { topic: `${this.prefix}/device/connection/${IPCAM_DEVICE_TYPE}/${this.levels}`, payload, retain: true, deviceId: this.id };
  }

  heartbeat(payload: HeartbeatPayload): DeviceMessage {
    return { topic: `${this.prefix}/device/status/${IPCAM_DEVICE_TYPE}/${this.levels}`, payload, deviceId: this.id };
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
    return `${this.prefix}/device/message/${IPCAM_DEVICE_TYPE}/${this.levels}`;
  }
}

/**
 * What the MQTT API and Home Assistant discovery know of each device, from the store's
 * committed records (sqlite-events output 1) and, at start, the device registry. Capabilities
 * only grow while the runtime runs (a heartbeat that first carries a battery level adds the
 * battery sensor), so a device's discovery is re-sent exactly when it gains an entity.
 * Knows nothing of Node-RED or MQTT.
 */
import { commandRefusal } from '../contract/device-commands';
import type { CameraMode } from '../contract/camera-mode';
import type { StoreRecord } from '../types';

export interface DeviceFacts {
  id: string;
  type: string;
  name?: string;
  firmware?: string;
  mode?: CameraMode;
  /** undefined: never heard of its connection */
  online?: boolean;
  has: Capabilities;
}

export interface Capabilities {
  motion: boolean;
  /** MOTION_SMART / PERSON activity: VBC01 cameras, or any device seen reporting one */
  person: boolean;
  /** the Sense HAT's temperature, humidity and pressure */
  sensors: boolean;
  battery: boolean;
  signal: boolean;
  reboot: boolean;
  /** a picture can come from it (Pi snapshots, IP camera snapshots, VBC01 thumbnails) */
  camera: boolean;
}

/** Activity types that say a person was seen (the firmware's smart motion, the detector's). */
export const PERSON_ACTIVITIES = ['MOTION_SMART', 'PERSON'];

/** What a device of this type has before it reported anything (seed 004, vbc01-protocol.md). */
function baseCapabilities(type: string): Capabilities {
  return {
    motion: true,
    person: type === 'hive-cam',
    sensors: type === 'picam',
    battery: type === 'hive-cam',
    signal: type === 'hive-cam',
    reboot: commandRefusal(type, 'reboot') === undefined,
    camera: true,
  };
}

export interface Registered {
  camera_id: string;
  device_type: string | null;
  camera_name: string | null;
  mode: string | null;
  connection_status: string | null;
}

/** What changed for a device: `capabilities` means its discovery must be sent (again). */
export interface ViewChange {
  device: DeviceFacts;
  capabilities: boolean;
}

/** The kinds that say something about a device (stream health is MediaMTX's paths, dead letters are no device). */
const DEVICE_KINDS = new Set(['connection', 'heartbeat', 'activity-start', 'activity-stop', 'camera-state', 'sensor', 'command']);

/** Bounded: a runtime serves hundreds of devices; ids beyond this are not tracked (and say so through `full`). */
export const MAX_DEVICES = 10_000;

export class DeviceView {
  private readonly devices = new Map<string, DeviceFacts>();
  /**
   * Devices removed while the runtime runs. A record about one may still be on its way through
   * the processor and the store when the removal arrives; it must not bring the device back.
   * Only its connecting again does (an IP camera added again with the same id). Bounded as the devices are.
   */
  private readonly removed = new Set<string>();
  full = false;

  constructor(private readonly deviceTypes: readonly string[]) {}

  get(id: string): DeviceFacts | undefined {
    return this.devices.get(id);
  }

  all(): IterableIterator<DeviceFacts> {
    return this.devices.values();
  }

  /** A registry row (at start); the live records that come later win. */
  register(row: Registered): ViewChange | undefined {
    const type = row.device_type ?? this.deviceTypes[0] ?? 'picam';
    const found = this.ensure(row.camera_id, type);
    if (!found) return undefined;
    const { device } = found;
    device.name ??= row.camera_name ?? undefined;
    device.mode ??= (row.mode as CameraMode | null) ?? undefined;
    if (device.online === undefined && row.connection_status) device.online = row.connection_status === 'connected';
    return { device, capabilities: found.added };
  }

  /** A committed store record; undefined when it concerns no device we track. */
  apply(record: StoreRecord): ViewChange | undefined {
    if (!DEVICE_KINDS.has(record.kind) || !('deviceId' in record) || !('deviceType' in record)) return undefined;
    if (this.removed.has(record.deviceId)) {
      if (record.kind !== 'connection' || record.status !== 'connected') return undefined;
      this.removed.delete(record.deviceId);
    }
    const found = this.ensure(record.deviceId, record.deviceType);
    if (!found) return undefined;
    const { device } = found;
    let grew = found.added;
    const gain = (what: keyof Capabilities) => {
      if (!device.has[what]) {
        device.has[what] = true;
        grew = true;
      }
    };
    switch (record.kind) {
      case 'connection':
        device.online = record.status === 'connected';
        if (record.name && record.name !== device.name) {
          device.name = record.name;
          grew = true; // the device's name is part of its discovery
        }
        if (record.firmwareVersion) device.firmware = record.firmwareVersion;
        break;
      case 'heartbeat':
      case 'camera-state':
        if (record.online !== undefined) device.online = record.online;
        if (record.batteryLevel !== undefined) gain('battery');
        if (record.signalStrength !== undefined) gain('signal');
        if (record.kind === 'camera-state' && record.mode) device.mode = record.mode;
        break;
      case 'activity-start':
      case 'activity-stop':
        if (PERSON_ACTIVITIES.includes(record.activityType.toUpperCase())) gain('person');
        break;
      case 'sensor':
        gain('sensors');
        break;
      case 'command':
        // The mode asked for is the device's desired mode; its own camera/state confirms it later.
        if (record.mode) device.mode = record.mode;
        break;
    }
    return { device, capabilities: grew };
  }

  /** Forgets a device until it connects again; returns it when it was known. */
  remove(id: string): DeviceFacts | undefined {
    const device = this.devices.get(id);
    this.devices.delete(id);
    if (this.removed.size >= MAX_DEVICES) this.removed.delete(this.removed.values().next().value!);
    this.removed.add(id);
    return device;
  }

  /** The devices removed and not connected since, oldest first. */
  removedIds(): IterableIterator<string> {
    return this.removed.values();
  }

  /** Whether the device was removed and has not connected since. */
  isRemoved(id: string): boolean {
    return this.removed.has(id);
  }

  private ensure(id: string, type: string): { device: DeviceFacts; added: boolean } | undefined {
    const known = this.devices.get(id);
    if (known) return { device: known, added: false };
    if (this.devices.size >= MAX_DEVICES) {
      this.full = true;
      return undefined;
    }
    const device: DeviceFacts = { id, type, has: baseCapabilities(type) };
    this.devices.set(id, device);
    return { device, added: true };
  }
}

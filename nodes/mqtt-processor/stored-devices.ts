/**
 * What the store says of devices, for the processor: each device's type, name, mode and zones,
 * read once at start and, when runtimes share the store (the cluster role), again before an
 * input about them, since a mode may have been set through another runtime (issue 21).
 */
import type { NodeMessageInFlow } from 'node-red';
import { readZones, type ZonePolygon } from '../lib/contract/zones';
import { ANY_DEVICE_ID_PATTERN } from '../lib/hosted-devices';
import type { KnownDeviceRow } from '../lib/store/queries';
import type { EventStore } from '../lib/store/store';
import { CAMERA_MODES, isDeviceBatch, type CameraMode } from '../lib/types';
import { classifyInput } from './inputs';
import type { Processor } from './processor';

export interface StoredDevicesOptions {
  prefix: string;
  /** the type of a device whose row has none */
  defaultType: string;
  /** a stored row that cannot be read: said each time */
  warn(text: string): void;
  /** the store did not answer: said at most now and then (ThrottledWarn), it may fail for every input */
  warnThrottled(text: string): void;
}

export class StoredDevices {
  constructor(
    private readonly processor: Processor,
    private readonly opts: StoredDevicesOptions,
  ) {}

  /** A stored row as the processor keeps a device. */
  known(r: KnownDeviceRow): { deviceType: string; name?: string; mode?: CameraMode; zones?: ZonePolygon[] } {
    return {
      deviceType: r.device_type ?? this.opts.defaultType,
      name: r.camera_name ?? undefined,
      mode: r.mode && (CAMERA_MODES as readonly string[]).includes(r.mode) ? (r.mode as CameraMode) : undefined,
      zones: this.zones(r.camera_id, r.zones),
    };
  }

  /** The devices of an input whose stored state matters to it (a connection, an event, a command). */
  devicesOf(msg: NodeMessageInFlow): string[] {
    if (isDeviceBatch(msg)) return this.processor.devicesToRefresh((msg.payload as unknown[]).map(topicOf));
    const input = classifyInput(msg, this.opts.prefix);
    if (input.type === 'device') return this.processor.devicesToRefresh([input.topic]);
    const id = input.type === 'command' ? input.request.deviceId : undefined;
    return typeof id === 'string' && ANY_DEVICE_ID_PATTERN.test(id) ? [id] : [];
  }

  /** Reads `ids` from the store into the processor; a store that cannot answer leaves what this runtime knows. */
  async refresh(store: EventStore, ids: string[]): Promise<void> {
    let rows: KnownDeviceRow[];
    try {
      rows = await store.knownDevices(ids);
    } catch (err) {
      // Ingest goes on with what this runtime knows: a mode set elsewhere may be missed meanwhile.
      this.opts.warnThrottled(`cannot read devices' stored modes, using what this runtime knows: ${(err as Error).message}`);
      return;
    }
    for (const r of rows) this.processor.refresh(r.camera_id, this.known(r));
  }

  // Stored from a checked command; checked again, as anything read back: a bad row costs its zones, not the start.
  private zones(id: string, text: string | null): ZonePolygon[] | undefined {
    if (text === null) return undefined;
    try {
      return readZones(text);
    } catch (err) {
      this.opts.warn(`${id}: stored masks and zones ignored: ${(err as Error).message}`);
      return undefined;
    }
  }
}

function topicOf(m: unknown): string {
  const topic = m && typeof m === 'object' ? (m as { topic?: unknown }).topic : undefined;
  return typeof topic === 'string' ? topic : '';
}

/**
 * The IP cameras one ipcam node runs: the one in its properties (if any) and
 * those stored in the database. Adding, replacing and removing a camera
 * starts and stops only that camera.
 */
import type { CameraMode } from '../lib/types';
import type { RtspInput } from '../rpicam-rtsp/types';
import { onvifHostPort, type CameraSpec } from './camera-spec';
import { IpCamera, type IpCameraConfig, type IpCameraCounters, type IpCameraEvents, type IpCameraState } from './ip-camera';
import type { LivePaths } from './live-paths';

/** Everything of a camera's configuration that is the node's, not the camera's. */
export type CameraDefaults = Omit<IpCameraConfig, 'id' | 'name' | 'main' | 'sub' | 'mode' | 'motion' | 'motionSource' | 'onvif'> & {
  motion: Omit<IpCameraConfig['motion'], 'on'>;
};

export interface Entry {
  spec: CameraSpec;
  camera: IpCamera;
  /** defined in the node's properties: not removable through the API */
  fromFlow: boolean;
}

export function streamInput(spec: CameraSpec, url: string): RtspInput {
  return { url, transport: spec.transport, username: spec.username || undefined, password: spec.password || undefined };
}

export function cameraConfig(spec: CameraSpec, defaults: CameraDefaults): IpCameraConfig {
  return {
    ...defaults,
    id: spec.id,
    name: spec.name,
    main: spec.mainUrl ? streamInput(spec, spec.mainUrl) : undefined,
    sub: streamInput(spec, spec.subUrl),
    mode: spec.mode,
    motion: { ...defaults.motion, on: spec.motion },
    motionSource: spec.motionSource,
    onvif: spec.onvif
      ? { ...onvifHostPort(spec.onvif), username: spec.username || undefined, password: spec.password || undefined }
      : undefined,
  };
}

/** The node's figures for /metrics: counters (only grow) and gauges (now). */
export interface CameraSetCounters extends IpCameraCounters {
  camerasConfigured: number;
  camerasConnected: number;
  mjpegViewers: number;
}

export class CameraSet {
  private readonly entries = new Map<string, Entry>();
  /** what cameras removed or replaced had counted: a counter never goes down while the node runs */
  private readonly retired: IpCameraCounters = { framesAnalysed: 0, motionEvents: 0, reconnects: 0, failedChecks: 0 };

  constructor(
    private readonly defaults: CameraDefaults,
    private readonly events: (id: string) => IpCameraEvents,
    /** MediaMTX paths for live video, when a MediaMTX server is configured */
    private readonly live?: LivePaths,
  ) {}

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  list(): Entry[] {
    return [...this.entries.values()];
  }

  states(): IpCameraState[] {
    return this.list().map((e) => e.camera.state);
  }

  counters(): CameraSetCounters {
    const sum: CameraSetCounters = { ...this.retired, camerasConfigured: 0, camerasConnected: 0, mjpegViewers: 0 };
    for (const { camera } of this.entries.values()) {
      add(sum, camera.counters);
      sum.camerasConfigured++;
      if (camera.connected) sum.camerasConnected++;
      sum.mjpegViewers += camera.viewers;
    }
    return sum;
  }

  /** Starts the camera, replacing (and first stopping) one with the same id. */
  async put(spec: CameraSpec, fromFlow = false): Promise<void> {
    await this.remove(spec.id);
    const camera = new IpCamera(cameraConfig(spec, this.defaults), this.events(spec.id));
    this.entries.set(spec.id, { spec, camera, fromFlow });
    camera.start();
    await this.live?.sync(spec);
  }

  /** Stops the camera; `forget` also removes its live-video path (not on a redeploy: the next start applies it again). */
  async remove(id: string, forget = false): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    await e.camera.close();
    add(this.retired, e.camera.counters);
    if (forget) await this.live?.remove(id);
    return true;
  }

  async setMode(id: string, mode: CameraMode): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    e.spec = { ...e.spec, mode };
    await e.camera.setMode(mode);
    await this.live?.sync(e.spec);
    return true;
  }

  async close(): Promise<void> {
    const all = this.list();
    this.entries.clear();
    await Promise.all(all.map((e) => e.camera.close()));
  }
}

function add(to: IpCameraCounters, c: IpCameraCounters): void {
  to.framesAnalysed += c.framesAnalysed;
  to.motionEvents += c.motionEvents;
  to.reconnects += c.reconnects;
  to.failedChecks += c.failedChecks;
}

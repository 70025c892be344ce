/**
 * The IP cameras one ipcam node runs: the one in its properties (if any) and
 * those stored in the database. Adding, replacing and removing a camera
 * starts and stops only that camera.
 */
import type { ZonePolygon } from '../lib/contract/zones';
import type { CameraMode } from '../lib/types';
import type { RtspInput } from '../lib/rtsp/rtsp-input';
import { onvifHostPort, type CameraSpec } from './camera-spec';
import { IpCamera, type IpCameraConfig, type IpCameraCounters, type IpCameraEvents, type IpCameraState } from './ip-camera';
import type { LivePaths } from './live-paths';
import type { LiveRelay } from './live-relay';
import { OneAtATime } from '../lib/one-at-a-time';

/** Makes the live relay of a camera its host relays on request (a Pi's hosted camera). */
export type RelayFactory = (spec: CameraSpec) => LiveRelay;

/** Everything of a camera's configuration that is the node's, not the camera's. */
export type CameraDefaults = Omit<IpCameraConfig, 'id' | 'name' | 'main' | 'sub' | 'mode' | 'motion' | 'motionSource' | 'onvif'> & {
  motion: Omit<IpCameraConfig['motion'], 'on'>;
};

export interface Entry {
  spec: CameraSpec;
  camera: IpCamera;
  /** defined in the node's properties: not removable through the API */
  fromFlow: boolean;
  /** its live video relayed on request (a camera hosted by a Pi) */
  relay?: LiveRelay;
}

export function streamInput(spec: CameraSpec, url: string): RtspInput {
  return { url, transport: spec.transport, username: spec.username || undefined, password: spec.password || undefined };
}

export function cameraConfig(spec: CameraSpec, defaults: CameraDefaults, zones: readonly ZonePolygon[] = []): IpCameraConfig {
  return {
    ...defaults,
    id: spec.id,
    name: spec.name,
    main: spec.mainUrl ? streamInput(spec, spec.mainUrl) : undefined,
    sub: streamInput(spec, spec.subUrl),
    mode: spec.mode,
    motion: { ...defaults.motion, on: spec.motion, zones },
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
  /** one change (put, remove) of a camera at a time */
  private readonly changes = new OneAtATime();
  /** what cameras removed or replaced had counted: a counter never goes down while the node runs */
  private readonly retired: IpCameraCounters = { framesAnalysed: 0, motionEvents: 0, reconnects: 0, failedChecks: 0 };

  constructor(
    private readonly defaults: CameraDefaults,
    private readonly events: (id: string) => IpCameraEvents,
    /** MediaMTX paths for live video, when a MediaMTX server is configured */
    private readonly live?: LivePaths,
    /** live video relayed on request, when this node's cameras are hosted by a Pi with a publish URL */
    private readonly relays?: RelayFactory,
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

  /**
   * Starts the camera, replacing (and first stopping) one with the same id; `zones`: its masks and
   * zones. Puts and removes of one id run one after another, so a replaced camera is always stopped.
   */
  put(spec: CameraSpec, fromFlow = false, zones: readonly ZonePolygon[] = []): Promise<void> {
    return this.changes.run(spec.id, async () => {
      await this.stop(spec.id);
      const camera = new IpCamera(cameraConfig(spec, this.defaults, zones), this.events(spec.id));
      this.entries.set(spec.id, { spec, camera, fromFlow, relay: this.relays?.(spec) });
      camera.start();
      await this.live?.sync(spec);
    });
  }

  /**
   * Stops the camera; `forget` (it is deleted) also removes its live-video path (not on a redeploy:
   * the next start applies it again) and stops it without a last word (IpCamera.close).
   */
  remove(id: string, forget = false): Promise<boolean> {
    return this.changes.run(id, () => this.stop(id, forget));
  }

  private async stop(id: string, forget = false): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    await Promise.all([e.camera.close(forget), e.relay?.close()]);
    add(this.retired, e.camera.counters);
    if (forget) await this.live?.remove(id);
    return true;
  }

  async setMode(id: string, mode: CameraMode): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    e.spec = { ...e.spec, mode };
    // PRIVACY: nobody watches, so nothing is relayed either.
    if (mode === 'PRIVACY') await e.relay?.stop();
    await e.camera.setMode(mode);
    await this.live?.sync(e.spec);
    return true;
  }

  /** Relays the camera's live video for `seconds` more (someone watches); why it cannot, else undefined. */
  relayLive(id: string, seconds: number): string | undefined {
    const e = this.entries.get(id);
    if (!e) return `no camera "${id}"`;
    if (!e.relay) return `camera "${id}" has no live relay here (only a camera hosted by a Pi, with the relay URL set, is relayed)`;
    if (e.spec.mode === 'PRIVACY') return `camera "${id}" is in PRIVACY: no live video`;
    e.relay.request(seconds);
    return undefined;
  }

  /** The live relays that run or retry now: the camera's id, and why it retries. */
  relaying(): Array<{ id: string; error?: string }> {
    return this.list().flatMap((e) => {
      const r = e.relay?.state;
      if (r?.state === 'relaying') return [{ id: e.spec.id }];
      if (r?.state === 'retrying') return [{ id: e.spec.id, error: r.error ?? 'retrying' }];
      return [];
    });
  }

  async close(): Promise<void> {
    const all = this.list();
    this.entries.clear();
    await Promise.all(all.map((e) => Promise.all([e.camera.close(), e.relay?.close()])));
  }
}

function add(to: IpCameraCounters, c: IpCameraCounters): void {
  to.framesAnalysed += c.framesAnalysed;
  to.motionEvents += c.motionEvents;
  to.reconnects += c.reconnects;
  to.failedChecks += c.failedChecks;
}

/**
 * Live video for IP cameras: a MediaMTX path per camera, named by its id (the
 * dashboard's WHEP player asks for {webrtcUrl}/{id}/whep), that pulls the
 * camera's main stream on demand, without re-encoding: MediaMTX opens the
 * camera when the first viewer comes and closes it after the last one left.
 *
 * The paths are set through MediaMTX's API, which does not persist them:
 * they are applied again whenever a camera starts. In PRIVACY the path is
 * removed, so nobody can watch. The camera's login is part of the source URL
 * MediaMTX gets (it has no other way to take it); it never appears here in a
 * message or a log line.
 */
import type { MediamtxClient } from '../lib/mediamtx/client';
import { redactText } from '../lib/redact';
import { urlWithLogin } from '../lib/rtsp/rtsp-input';
import type { CameraSpec } from './camera-spec';

export type PathClient = Pick<MediamtxClient, 'putPath' | 'deletePath'>;

/** The path configuration for a camera (only fields of MediaMTX's PathConf). */
export function pathConf(spec: CameraSpec): Record<string, unknown> {
  const url = spec.mainUrl || spec.subUrl;
  return {
    source: urlWithLogin({ url, username: spec.username || undefined, password: spec.password || undefined }),
    sourceOnDemand: true,
    sourceOnDemandStartTimeout: '10s',
    sourceOnDemandCloseAfter: '10s',
    rtspTransport: spec.transport,
  };
}

export class LivePaths {
  constructor(
    private readonly client: PathClient,
    private readonly warn: (text: string) => void,
  ) {}

  /** Makes MediaMTX match the camera: a path while it may be watched, none in PRIVACY. */
  async sync(spec: CameraSpec): Promise<void> {
    try {
      if (spec.mode === 'PRIVACY') await this.client.deletePath(spec.id);
      else await this.client.putPath(spec.id, pathConf(spec));
    } catch (err) {
      this.warn(
        `live video for "${spec.id}": MediaMTX path not set (${redactText((err as Error).message)}); applied again at the next start`,
      );
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.client.deletePath(id);
    } catch (err) {
      this.warn(`live video for "${id}": MediaMTX path not removed (${redactText((err as Error).message)})`);
    }
  }
}

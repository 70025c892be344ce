/**
 * MediaMTX for the demo: the user's (MEDIAMTX_API_URL), or one started from
 * `cloud/mediamtx.yml` when a `mediamtx` binary is on the PATH, or none, in
 * which case the demo says plainly that stream health is off (and the camera
 * publishes to the ffmpeg stand-in instead).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnChild, type Child } from '../../nodes/lib/child-process';
import { packageRoot } from '../flows/package-root';

export interface DemoMediamtx {
  /** for the flows: where the health node polls and the Pi publishes; undefined = none */
  apiUrl?: string;
  rtspUrl?: string;
  describe: string;
  stop(): Promise<void>;
}

const API = '127.0.0.1:9997';

export function startDemoMediamtx(env: NodeJS.ProcessEnv, deviceId: string): DemoMediamtx {
  if (env.MEDIAMTX_API_URL) {
    return { apiUrl: env.MEDIAMTX_API_URL, describe: `${env.MEDIAMTX_API_URL} (MEDIAMTX_API_URL)`, stop: async () => undefined };
  }
  const binary = env.MEDIAMTX_BIN ?? 'mediamtx';
  if (spawnSync(binary, ['--help'], { stdio: 'ignore' }).error) {
    return {
      describe: 'off: no mediamtx on the PATH and MEDIAMTX_API_URL is not set, so stream health is off',
      stop: async () => undefined,
    };
  }
  // The shipped configuration, with the demo's differences as MediaMTX's MTX_* overrides:
  // local only, and its own users (the demo has no logins) instead of the cloud runtime's auth endpoint.
  const child: Child = spawnChild(binary, [join(packageRoot(), 'cloud', 'mediamtx.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...env,
      MTX_AUTHMETHOD: 'internal',
      MTX_APIADDRESS: API,
      MTX_METRICSADDRESS: '127.0.0.1:9998',
      MTX_RTSPADDRESS: '127.0.0.1:8554',
      MTX_WEBRTCADDRESS: '127.0.0.1:8889',
    },
  });
  return {
    apiUrl: `http://${API}`,
    rtspUrl: `rtsp://127.0.0.1:8554/${deviceId}`,
    describe: `MediaMTX (${binary} with cloud/mediamtx.yml): API http://${API}, RTSP rtsp://127.0.0.1:8554, WebRTC http://127.0.0.1:8889/${deviceId}`,
    stop: () => child.stop(3000),
  };
}

/**
 * The demo's IP camera: GStreamer's RTSP server (scripts/rtsp-test-camera.py, the same
 * camera the tests use) serving a moving test pattern with a Digest login on
 * 127.0.0.1, added to the cloud flow's `ipcam` node through its API as a user would
 * add a real camera. Without GStreamer's RTSP server (Debian's python3-gi and
 * gir1.2-gst-rtsp-server-1.0) the demo says so in one line and runs without it:
 * ffmpeg alone can publish RTSP but not serve it to a reader.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { spawnChild, type Child } from '../../nodes/lib/child-process';
import { API_PATHS, apiUrl as pathOf } from '../../nodes/lib/contract/api-routes';
import { packageRoot } from '../flows/package-root';

export const RTSP_TEST_CAMERA = join(packageRoot(), 'scripts', 'rtsp-test-camera.py');
export const DEMO_IPCAM_ID = 'ipcam-demo';
const DEMO_IPCAM_PORT = 8556;

/** Debian's python3 with GStreamer's RTSP server bindings (a pyenv shim in front of it would not see python3-gi). */
export function gstRtspPython(): string | undefined {
  const probe = 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer';
  return ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', probe], { stdio: 'ignore' }).status === 0);
}

export interface DemoIpcam {
  /** what the demo's banner says about it */
  describe: string;
  /** adds the camera to the runtime's ipcam node (POST {apiUrl}/api/ipcams); resolves to a line for the log */
  add(apiUrl: string): Promise<string>;
  stop(): Promise<void>;
}

export interface DemoIpcamLogin {
  username: string;
  password: string;
}

/** A new password each start: the camera is re-added at every start, so the stored one always matches. */
export const demoIpcamLogin = (): DemoIpcamLogin => ({ username: 'demo', password: randomBytes(12).toString('hex') });

/** Where the demo camera's main stream is, for the recorder (the login kept apart, as the recorder's parser wants it in the URL). */
export function demoIpcamRecordSource(env: NodeJS.ProcessEnv, login: DemoIpcamLogin): string {
  const port = Number(env.PICAM_IPCAM_RTSP_PORT || DEMO_IPCAM_PORT);
  return `${DEMO_IPCAM_ID}=rtsp://${login.username}:${login.password}@127.0.0.1:${port}/main`;
}

/** Starts the camera on PICAM_IPCAM_RTSP_PORT (default 8556), or says in `describe` why there is none. */
export function startDemoIpcam(env: NodeJS.ProcessEnv, login: DemoIpcamLogin = demoIpcamLogin()): DemoIpcam {
  const python = gstRtspPython();
  if (!python) {
    return {
      describe:
        "off: GStreamer's RTSP server is not installed (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)",
      add: async () => '',
      stop: async () => undefined,
    };
  }
  const port = Number(env.PICAM_IPCAM_RTSP_PORT || DEMO_IPCAM_PORT);
  const args = [RTSP_TEST_CAMERA, String(port), login.username, login.password, '--pattern', 'moving'];
  const child: Child = spawnChild(python, args, { stdio: ['ignore', 'ignore'] });
  const url = (path: string) => `rtsp://127.0.0.1:${port}/${path}`;
  return {
    describe: `${url('main')} and ${url('sub')} (GStreamer's RTSP server, moving test pattern) as "${DEMO_IPCAM_ID}"`,
    add: async (apiUrl) => {
      const camera = { id: DEMO_IPCAM_ID, name: 'Demo IP camera', subUrl: url('sub'), mainUrl: url('main'), ...login };
      // The node checks the camera before storing it: the server may still be starting, so try a few times.
      let reason = '';
      for (let attempt = 0; attempt < 10 && child.process.exitCode === null; attempt++) {
        const res = await fetch(`${apiUrl}${API_PATHS.ipcams}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(camera),
        }).catch((err: Error) => ({ ok: false, status: 0, text: async () => err.message }));
        if (res.ok) return `IP camera "${DEMO_IPCAM_ID}" added: MJPEG at ${apiUrl}${pathOf(API_PATHS.ipcamMjpeg, { id: DEMO_IPCAM_ID })}`;
        reason = `${res.status} ${(await res.text()).slice(0, 200)}`;
        await new Promise((r) => setTimeout(r, 1000));
      }
      return `IP camera "${DEMO_IPCAM_ID}" not added: ${reason || child.stderrTail().join(' | ') || 'the RTSP server ended'}`;
    },
    stop: () => child.stop(2000),
  };
}

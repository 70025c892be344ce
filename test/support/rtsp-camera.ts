/**
 * A real RTSP camera for the tests: GStreamer's RTSP server (scripts/rtsp-test-camera.py, also the demo's camera)
 * with Digest authentication, /main (640×360) and /sub (320×180), a moving or
 * a still test pattern. Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and
 * gstreamer1.0-plugins-{base,good,ugly} (scripts/install-test-deps.sh).
 */
import { spawnChild, type Child } from '../../nodes/lib/child-process';
import { gstRtspPython, RTSP_TEST_CAMERA } from '../../cli/runtime/demo-ipcam';
import { freePort } from './ports';

const PYTHON = gstRtspPython();

export const skipWithoutGstRtsp =
  !PYTHON && !process.env.CI ? "GStreamer's RTSP server is not installed (scripts/install-test-deps.sh installs it)" : false;

export interface RtspCameraOptions {
  user?: string;
  password?: string;
  pattern?: 'moving' | 'still';
  codec?: 'h264' | 'h265';
  bframes?: boolean;
  port?: number;
  /** the main stream's size (default 640x360) */
  mainSize?: string;
}

export class RtspCamera {
  readonly user: string;
  readonly password: string;
  port = 0;
  private child?: Child;
  private restarts = 0;
  /** the restart after a crash, while it runs */
  private restarting: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RtspCameraOptions = {}) {
    this.user = opts.user ?? 'admin';
    this.password = opts.password ?? 'cam-s3cret';
  }

  url(path: 'main' | 'sub' | string): string {
    return `rtsp://127.0.0.1:${this.port}/${path}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (on the same port again after a stop) and resolves once it listens. */
  async start(): Promise<void> {
    if (!PYTHON) throw new Error(String(skipWithoutGstRtsp));
    this.port ||= this.opts.port ?? (await freePort());
    const args = [RTSP_TEST_CAMERA, String(this.port), this.user, this.password];
    args.push('--pattern', this.opts.pattern ?? 'moving', '--codec', this.opts.codec ?? 'h264');
    if (this.opts.bframes) args.push('--bframes');
    if (this.opts.mainSize) args.push('--main-size', this.opts.mainSize);
    const child = spawnChild(PYTHON, args, { stdio: ['ignore', 'pipe'], stderrLines: 20 });
    this.child = child;
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.process.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (!out.includes('ready')) return;
        ready = true;
        resolve();
      });
      void child.exited.then((info) => {
        const why = `rtsp-test-camera.py ended (${info.code ?? info.signal}): ${child.stderrTail().join(' | ')}`;
        reject(new Error(why));
        if (this.child !== child || !ready) return;
        // GStreamer's RTSP server has died on its own once in a loaded CI run, failing every test after it
        // with "connection refused". A real camera comes back after a crash: so does this one, saying why.
        console.error(`the test camera on port ${this.port} died unasked, restarting it: ${why}`);
        if (this.restarts++ < 3) this.restarting = this.start().catch((err: Error) => console.error(`it did not restart: ${err.message}`));
      });
    });
  }

  /** Resolves once the camera serves: at once, or after its restart if it crashed (a test's beforeEach). */
  serving(): Promise<void> {
    return this.restarting;
  }

  /** Kills the camera at once, as a camera losing power would go. */
  async kill(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await c?.stop(0);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await c?.stop(2000);
  }
}

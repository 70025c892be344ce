/**
 * The demo's stand-in for MediaMTX: an ffmpeg RTSP listener that accepts the
 * Pi flow's stream and keeps it as an HLS playlist under the data directory.
 * ffmpeg's listen mode takes one publisher and ends with it, so it is started
 * again after every session (with a pause, so a broken ffmpeg cannot spin).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegInstalled, spawnChild, type Child } from '../../nodes/lib/child-process';

export interface RtspSink {
  /** what the demo prints about it */
  describe: string;
  stop(): Promise<void>;
}

/** Listens on `rtspUrl` (only 127.0.0.1 URLs: the demo's own) and writes `<dir>/<path>.m3u8`. */
export function startRtspSink(rtspUrl: string, dir: string, log: (line: string) => void): RtspSink {
  const url = new URL(rtspUrl);
  const name = url.pathname.replace(/^\//, '').replace(/[^A-Za-z0-9_-]/g, '_') || 'stream';
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    return { describe: `${rtspUrl} (not local: the demo expects your own RTSP server there)`, stop: async () => undefined };
  }
  if (!ffmpegInstalled()) {
    return { describe: 'off: ffmpeg is not installed (apt-get install ffmpeg), so the Pi flow has no camera', stop: async () => undefined };
  }
  mkdirSync(dir, { recursive: true });
  let child: Child | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const listen = () => {
    timer = undefined;
    if (stopped) return;
    // Whatever connects to the port is read as RTSP only (forced format, RTSP's own protocols), never as a
    // format that names other files (issue 13, item 2).
    const input = ['-protocol_whitelist', 'rtsp,rtp,udp,tcp', '-f', 'rtsp', '-rtsp_flags', 'listen', '-i', url.toString()];
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input];
    args.push('-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-hls_flags', 'delete_segments+omit_endlist');
    args.push(join(dir, `${name}.m3u8`));
    const current = spawnChild('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = current;
    void current.exited.then((info) => {
      if (stopped) return;
      if (info.error) log(`RTSP sink: ${info.error.message}`);
      timer = setTimeout(listen, 1000);
    });
  };
  listen();
  return {
    describe: `${url.toString()} → ${join(dir, `${name}.m3u8`)} (HLS; MediaMTX's place in production)`,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await child?.stop(2000);
    },
  };
}

/**
 * The demo's stand-in for MediaMTX: an ffmpeg RTSP listener that accepts the
 * Pi flow's stream and keeps it as an HLS playlist under the data directory.
 * ffmpeg's listen mode takes one publisher and ends with it, so it is started
 * again after every session (with a pause, so a broken ffmpeg cannot spin).
 *
 * It also passes the video on, copied, as RTP to a free local UDP port and
 * describes that stream in `<path>.sdp` beside the playlist: the runtime's
 * live node copies it into its bridge while someone watches, so the Pi camera
 * plays over WebRTC without MediaMTX (docs/live-video.md "RTSP sources").
 * Nothing listens on that port while nobody watches: the packets are dropped.
 *
 * Given `recordTo` (a udp:// URL), it also sends the video, copied, as MPEG-TS to that port for
 * the recorder node (issue 19: the demo records its Pi camera). Not as a second RTP copy:
 * ffmpeg's `-sdp_file` is global, so a second RTP output would land in the live node's SDP too.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegInstalled, spawnChild, type Child } from '../../nodes/lib/child-process';

export interface RtspSink {
  /** what the demo prints about it */
  describe: string;
  stop(): Promise<void>;
}

/** The SSRC of the sink's RTP copy: fixed, so a restarted sink is the same source to its reader. */
const SINK_SSRC = 0x5049;

/** Whether the sink runs for this URL: only the demo's own, on this machine. */
export function sinkIsLocal(rtspUrl: string): boolean {
  const host = URL.canParse(rtspUrl) ? new URL(rtspUrl).hostname : '';
  return host === '127.0.0.1' || host === 'localhost';
}

/** The files the sink writes for `rtspUrl` in `dir`: the HLS playlist and the SDP of its RTP copy. */
export function sinkFiles(rtspUrl: string, dir: string): { playlist: string; sdp: string } {
  const name = new URL(rtspUrl).pathname.replace(/^\//, '').replace(/[^A-Za-z0-9_-]/g, '_') || 'stream';
  return { playlist: join(dir, `${name}.m3u8`), sdp: join(dir, `${name}.sdp`) };
}

function bindable(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** An even UDP port whose odd neighbour (RTCP) is free too, on 127.0.0.1. */
/** A UDP port nothing on 127.0.0.1 is bound to now. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  const port = await new Promise<number>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve(socket.address().port));
  });
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

async function freeUdpPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeUdpPort();
    const even = port - (port % 2);
    if (even > 1024 && (await bindable(even)) && (await bindable(even + 1))) return even;
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}

/** Listens on `rtspUrl` (only 127.0.0.1 URLs: the demo's own) and writes `<dir>/<path>.m3u8` and `<path>.sdp`. */
export function startRtspSink(rtspUrl: string, dir: string, log: (line: string) => void, recordTo?: string): RtspSink {
  const url = new URL(rtspUrl);
  const files = sinkFiles(rtspUrl, dir);
  if (!sinkIsLocal(rtspUrl)) {
    return { describe: `${rtspUrl} (not local: the demo expects your own RTSP server there)`, stop: async () => undefined };
  }
  if (!ffmpegInstalled()) {
    return { describe: 'off: ffmpeg is not installed (apt-get install ffmpeg), so the Pi flow has no camera', stop: async () => undefined };
  }
  mkdirSync(dir, { recursive: true });
  let child: Child | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let rtpPort: number | undefined;
  const listen = async () => {
    timer = undefined;
    if (stopped) return;
    rtpPort ??= await freeUdpPair().catch((err: Error) => {
      log(`RTSP sink: ${err.message}: the Pi camera has no WebRTC copy`);
      return 0;
    });
    if (stopped) return;
    // Whatever connects to the port is read as RTSP only (forced format, RTSP's own protocols), never as a
    // format that names other files (issue 13, item 2).
    const input = ['-protocol_whitelist', 'rtsp,rtp,udp,tcp', '-f', 'rtsp', '-rtsp_flags', 'listen', '-i', url.toString()];
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input];
    args.push('-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-hls_flags', 'delete_segments+omit_endlist');
    args.push(files.playlist);
    if (rtpPort) {
      // The video again, copied as RTP for the live node (its reader binds the port while someone watches).
      args.push('-map', '0:v:0', '-c', 'copy', '-f', 'rtp', '-ssrc', String(SINK_SSRC), '-payload_type', '96');
      args.push('-sdp_file', files.sdp, `rtp://127.0.0.1:${rtpPort}?pkt_size=1200`);
    }
    if (recordTo) args.push('-map', '0:v:0', '-c', 'copy', '-f', 'mpegts', `${recordTo}?pkt_size=1316`);
    const current = spawnChild('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = current;
    void current.exited.then((info) => {
      if (stopped) return;
      if (info.error) log(`RTSP sink: ${info.error.message}`);
      timer = setTimeout(() => void listen(), 1000);
    });
  };
  void listen();
  return {
    describe: `${url.toString()} → ${files.playlist} (HLS; MediaMTX's place in production) and ${files.sdp} (RTP for the live view)`,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await child?.stop(2000);
    },
  };
}

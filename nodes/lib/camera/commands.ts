/**
 * The command lines of the three processes (pure functions, tested directly):
 * the source writing raw H.264 to stdout, the relay publishing it to the RTSP
 * server, and the analyser decoding it into JPEGs and small grey frames.
 *
 * The source writes Annex B H.264 with SPS/PPS before every key frame, so a
 * relay or analyser started mid-stream can begin at the next key frame.
 */
import { join } from 'node:path';
import { hiddenInputArgs, concatScript } from '../rtsp/rtsp-input';
import type { AnalysisConfig, StreamConfig } from './types';
import { redactText } from '../redact';

export interface Command {
  command: string;
  args: string[];
  /** written to the process's stdin, then stdin is closed (the camera's login, kept off the command line) */
  stdin?: string;
}

const QUIET = ['-hide_banner', '-loglevel', 'warning', '-nostats'];

/**
 * An output option: write each packet at once. To a pipe ffmpeg otherwise
 * holds 32 kB back: seconds of a still picture's H.264, dozens of grey frames.
 */
const FLUSH = ['-flush_packets', '1'];

/**
 * Raw H.264 on stdin. Raw H.264 has no timestamps: without -framerate ffmpeg
 * assumes 25 fps. By default ffmpeg probes 5 s of video (or 5 MB) before it
 * writes anything, delaying the stream and then sending it in a burst; the
 * stream starts with an SPS, which gives the size, so a 1 µs analysis (0 would
 * mean the default) lets the output start after a frame or two.
 *
 * No `-fflags nobuffer`: it throws away the packets read while probing, and
 * the fan-out starts every reader at a key frame, so the decoder lost exactly
 * that key frame and waited for the next one, up to a whole GOP (about 1 s of
 * an IP camera's first MJPEG frame, bench/ipcam.ts). The probe reads two or
 * three frames, so keeping them costs no latency.
 */
function rawH264Input(framerate?: number): string[] {
  // No rate: each frame stamped as it arrives (an IP camera's copy; see analyserCommand).
  const stamps = framerate ? ['-framerate', String(framerate)] : [];
  const clock = framerate ? [] : ['-use_wallclock_as_timestamps', '1'];
  return [...clock, '-probesize', '32768', '-analyzeduration', '1', '-f', 'h264', ...stamps, '-i', 'pipe:0'];
}

/** Net flips: a 180° rotation is both flips, and flips compose by cancelling (as libcamera's transforms do). */
function flips(cfg: StreamConfig): { h: boolean; v: boolean } {
  const turned = cfg.rotation === 180;
  return { h: cfg.hflip !== turned, v: cfg.vflip !== turned };
}

function flipFilter(cfg: StreamConfig): string[] {
  const { h, v } = flips(cfg);
  const filters = [h ? 'hflip' : '', v ? 'vflip' : ''].filter(Boolean);
  return filters.length ? ['-vf', filters.join(',')] : [];
}

/** rpicam-vid's own flags (rpicam-apps core/options.cpp and video_options.hpp). */
function rpicamSource(cfg: StreamConfig): Command {
  const args = ['-t', '0', '-n', '--inline', '--codec', 'h264'];
  args.push('--width', String(cfg.width), '--height', String(cfg.height), '--framerate', String(cfg.framerate));
  args.push('--bitrate', String(cfg.bitrate), '--intra', String(cfg.keyframeInterval));
  if (cfg.rotation === 180) args.push('--rotation', '180');
  if (cfg.hflip) args.push('--hflip');
  if (cfg.vflip) args.push('--vflip');
  // --low-latency: no B-frames (the Pi 5's software encoder adds them otherwise, and browsers drop
  // them in WebRTC); --flush: each frame is written at once, not held in stdout's buffer.
  if (cfg.lowLatency) args.push('--low-latency', '--flush');
  args.push('-o', '-');
  return { command: cfg.rpicamPath, args };
}

function v4l2Source(cfg: StreamConfig): Command {
  const args = [...QUIET, '-nostdin', '-f', 'v4l2', '-framerate', String(cfg.framerate), '-video_size', `${cfg.width}x${cfg.height}`];
  args.push('-i', cfg.v4l2Device, ...flipFilter(cfg));
  // Webcams often deliver YUYV: 4:2:2 H.264 is a profile browsers cannot decode.
  args.push('-pix_fmt', 'yuv420p', '-c:v', cfg.v4l2Encoder, '-b:v', String(cfg.bitrate), '-g', String(cfg.keyframeInterval), '-bf', '0');
  // Hardware encoders may put SPS/PPS only in the first packet: repeat them at every key frame.
  args.push('-bsf:v', 'dump_extra=freq=keyframe', ...FLUSH, '-f', 'h264', '-');
  return { command: cfg.ffmpegPath, args };
}

function testSource(cfg: StreamConfig): Command {
  const size = `size=${cfg.width}x${cfg.height}:rate=${cfg.framerate}`;
  // testsrc2 moves (motion detection sees it); smptebars stands still.
  const pattern = cfg.pattern === 'static' ? `smptebars=${size}` : `testsrc2=${size}`;
  const args = [...QUIET, '-nostdin', '-re', '-f', 'lavfi', '-i', pattern, ...flipFilter(cfg)];
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-b:v', String(cfg.bitrate));
  args.push('-g', String(cfg.keyframeInterval), '-bf', '0', '-pix_fmt', 'yuv420p', ...FLUSH, '-f', 'h264', '-');
  return { command: cfg.ffmpegPath, args };
}

/** The scene source's cycle: the visitor shows for visitSeconds from visitAtSeconds of every cycleSeconds. */
export const SCENE = { cycleSeconds: 30, visitAtSeconds: 10, visitSeconds: 6 } as const;

/**
 * The demo's scene (issue 20): a still street (empty.jpg) where a person stands (visitor.jpg, the
 * same street with a person pasted in) for 6 s of every 30, so motion detection raises an event
 * and the person detector makes it MOTION_SMART with a box. Scaled to fill the frame (aspect kept, cropped).
 * The visit is short: the background adapts to what stays, and a longer stay would end the event
 * before the person leaves (the leaving then being an event of its own). A little sensor-like noise
 * keeps the frames changing: a still picture encodes to near-empty frames, and the browser's
 * WebRTC view of them decoded nothing (the demo's live view stayed black).
 */
function sceneSource(cfg: StreamConfig): Command {
  if (!cfg.sceneDir) throw new Error('the scene source needs its pictures (sceneDir)');
  const [w, h] = [cfg.width, cfg.height];
  const still = (file: string) => ['-re', '-loop', '1', '-framerate', String(cfg.framerate), '-i', join(cfg.sceneDir!, file)];
  const { cycleSeconds, visitAtSeconds, visitSeconds } = SCENE;
  const filter = [
    `[0:v][1:v]overlay=enable='between(mod(t,${cycleSeconds}),${visitAtSeconds},${visitAtSeconds + visitSeconds})'`,
    // filled and cropped, not padded: the person stays as large as the frame allows (the model sees more of them)
    `scale=w=${w}:h=${h}:force_original_aspect_ratio=increase`,
    `crop=${w}:${h}`,
    // a camera sensor's noise: frames that change (a still picture makes almost empty frames)
    'noise=alls=4:allf=t',
    'format=yuv420p',
  ].join(',');
  const args = [...QUIET, '-nostdin', ...still('empty.jpg'), ...still('visitor.jpg'), '-filter_complex', filter];
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-b:v', String(cfg.bitrate));
  args.push('-g', String(cfg.keyframeInterval), '-bf', '0', ...FLUSH, '-f', 'h264', '-');
  return { command: cfg.ffmpegPath, args };
}

/**
 * An IP camera's stream, pulled over RTSP and copied as it is (no decoding):
 * SPS/PPS, which cameras often send only in the SDP, are repeated before every
 * key frame so the analyser can start at any. Progress blocks go to fd 3: with
 * no relay, the source's progress is the stream's (frames, fps, stalls).
 */
function rtspSource(cfg: StreamConfig): Command {
  if (!cfg.input) throw new Error('the rtsp source needs a camera (input)');
  const args = [...QUIET, ...hiddenInputArgs(), '-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe'];
  args.push(...FLUSH, '-f', 'h264', 'pipe:1', '-progress', 'pipe:3');
  // A copy needs only the codec, which the SDP names: 0.1 s of analysis instead of the check's 0.5 s
  // takes 0.3 s off the first frame (bench/ipcam.ts).
  return { command: cfg.ffmpegPath, args, stdin: concatScript(cfg.input, 100_000) };
}

/** The process that owns the camera and writes raw H.264 to stdout. */
export function sourceCommand(cfg: StreamConfig): Command {
  switch (cfg.source) {
    case 'rpicam':
      return rpicamSource(cfg);
    case 'v4l2':
      return v4l2Source(cfg);
    case 'testsrc':
      return testSource(cfg);
    case 'scene':
      return sceneSource(cfg);
    case 'rtsp':
      return rtspSource(cfg);
  }
}

/** The RTSP URL with the credentials URL-encoded into it (ffmpeg decodes them for Basic auth). */
export function publishUrl(cfg: Pick<StreamConfig, 'rtspUrl' | 'username' | 'password'>): string {
  if (!cfg.rtspUrl) throw new Error('no RTSP server to publish to');
  if (!cfg.username) return cfg.rtspUrl;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/]*@)?(.*)$/i.exec(cfg.rtspUrl);
  if (!m) throw new Error(`not an RTSP URL: ${redactText(cfg.rtspUrl)}`);
  const login = encodeURIComponent(cfg.username) + (cfg.password ? `:${encodeURIComponent(cfg.password)}` : '');
  return `${m[1]}${login}@${m[2]}`;
}

/** Publishes stdin to the RTSP server over TCP; progress blocks on fd 3. */
export function relayCommand(cfg: StreamConfig): Command {
  const args = [...QUIET, ...rawH264Input(cfg.framerate), '-c', 'copy'];
  // The raw demuxer leaves the first packet's pts unset: the RTSP muxer then sends the first two
  // frames with one timestamp. Without B-frames presentation order is decoding order, so pts = dts.
  if (cfg.source !== 'rpicam' || cfg.lowLatency) args.push('-bsf:v', 'setts=pts=DTS');
  args.push('-f', 'rtsp', '-rtsp_transport', 'tcp', publishUrl(cfg), '-progress', 'pipe:3');
  return { command: cfg.ffmpegPath, args };
}

/**
 * Copies stdin, as MPEG-TS, to a UDP port of this host where the Pi's recorder listens
 * (`recordTo`, udp://127.0.0.1:port): the video is never re-encoded, and no uplink is involved.
 */
export function tapCommand(cfg: StreamConfig, recordTo: string): Command {
  const args = [...QUIET, ...rawH264Input(cfg.framerate), '-map', '0:v:0', '-c', 'copy'];
  if (cfg.source !== 'rpicam' || cfg.lowLatency) args.push('-bsf:v', 'setts=pts=DTS');
  args.push(...FLUSH, '-f', 'mpegts', `${recordTo}?pkt_size=1316`);
  return { command: cfg.ffmpegPath, args };
}

/** Decodes stdin: JPEGs (image2pipe) on stdout, grey motionWidth×motionHeight frames on fd 3. */
export function analyserCommand(cfg: StreamConfig, analysis: AnalysisConfig): Command {
  const a = analysis;
  // An IP camera's frames are stamped as they arrive: its frame rate need not be known in advance, so the
  // analyser can start while the connection check still runs (nodes/ipcam/ip-camera.ts), and `fps=` picks
  // frames by real time whatever rate the camera sends.
  const args = [...QUIET, ...rawH264Input(cfg.source === 'rtsp' ? undefined : cfg.framerate)];
  // Never wider than the source: a camera's sub stream may be narrower than the MJPEG width asked for.
  args.push('-map', '0:v', '-vf', `fps=${a.jpegFps},scale='min(${a.jpegWidth},iw)':-2`, '-c:v', 'mjpeg', '-q:v', '5');
  args.push(...FLUSH, '-f', 'image2pipe', 'pipe:1');
  args.push('-map', '0:v', '-vf', `fps=${a.motionFps},scale=${a.motionWidth}:${a.motionHeight},format=gray`);
  args.push(...FLUSH, '-f', 'rawvideo', 'pipe:3');
  return { command: cfg.ffmpegPath, args };
}

/** The arguments with credentials hidden, for logs and status. */
export function redact(args: readonly string[]): string[] {
  return args.map(redactText);
}

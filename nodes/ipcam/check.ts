/**
 * The connection check run before a camera is saved and at each (re)start:
 * ffprobe opens the stream (login through stdin, see rtsp-input.ts) and says
 * whether it is reachable, whether the login and path are right, and what the
 * video is. What a browser cannot play without transcoding (H.265, B-frames)
 * is a warning; what cannot work at all is the error, in one line.
 */
import type { CameraCheck, VideoInfo } from '../lib/contract/ip-cameras';
import { spawnChild } from '../lib/child-process';
import { redactText } from '../lib/redact';
import { concatScript, hiddenInputArgs, rtspFailure, safeHost } from '../lib/rtsp/rtsp-input';
import type { RtspInput } from '../lib/rtsp/rtsp-input';

export type { CameraCheck, VideoInfo };

export type StreamCheck = { ok: true; video: VideoInfo; warnings: string[] } | { ok: false; error: string };

export interface CheckOptions {
  ffprobePath?: string;
  /** the whole check's time limit (default 15 s) */
  timeoutMs?: number;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  has_b_frames?: number;
}

function rate(text: string | undefined): number {
  const [n, d] = (text ?? '').split('/').map(Number);
  if (!n || !Number.isFinite(n)) return 0;
  const fps = d ? n / d : n;
  return Number.isFinite(fps) && fps > 0 && fps < 1000 ? Math.round(fps * 100) / 100 : 0;
}

/** Opens one stream with ffprobe and describes its video. */
export async function checkStream(input: RtspInput, opts: CheckOptions = {}): Promise<StreamCheck> {
  const args = ['-v', 'error', ...hiddenInputArgs(), '-select_streams', 'v', '-show_streams', '-of', 'json'];
  const child = spawnChild(opts.ffprobePath ?? 'ffprobe', args, { stdio: ['pipe', 'pipe'], stderrLines: 20 });
  child.process.stdin?.end(concatScript(input));
  let out = '';
  child.process.stdout?.on('data', (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString();
  });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(1000);
  }, timeoutMs);
  const info = await child.exited;
  clearTimeout(timer);
  const where = safeHost(input.url);
  if (info.error) return { ok: false, error: `ffprobe could not start (${info.error.message}): is ffmpeg installed?` };
  if (timedOut) return { ok: false, error: `the camera at ${where} did not deliver a picture within ${Math.round(timeoutMs / 1000)} s` };
  const stderr = child.stderrTail().map(redactText);
  if (info.code !== 0)
    return {
      ok: false,
      error: rtspFailure(stderr, input.url) ?? `cannot open ${where}: ${stderr.at(-1) ?? `ffprobe exited with code ${info.code}`}`,
    };
  let streams: ProbeStream[] = [];
  try {
    streams = ((JSON.parse(out) as { streams?: ProbeStream[] }).streams ?? []).filter((s) => s.codec_type === 'video');
  } catch {
    return { ok: false, error: `ffprobe's answer for ${where} was not JSON` };
  }
  const v = streams[0];
  if (!v?.codec_name) return { ok: false, error: `${where} has no video stream` };
  const video: VideoInfo = {
    codec: v.codec_name,
    width: v.width ?? 0,
    height: v.height ?? 0,
    fps: rate(v.avg_frame_rate) || rate(v.r_frame_rate),
    bFrames: (v.has_b_frames ?? 0) > 0,
  };
  return { ok: true, video, warnings: videoWarnings(video) };
}

/** What a browser cannot play as it is (WebRTC carries H.264 without B-frames, VP8/9, AV1). */
export function videoWarnings(v: VideoInfo): string[] {
  const w: string[] = [];
  if (v.codec === 'hevc') w.push('H.265: most browsers cannot play it without transcoding (set the camera to H.264 for live video)');
  else if (v.codec !== 'h264') w.push(`${v.codec}: not H.264, browsers may not play it without transcoding`);
  if (v.bFrames) w.push('B-frames: WebRTC players stutter or drop frames (turn B-frames / "smart codec" off on the camera)');
  if (!v.width || !v.height) w.push('the stream does not announce its picture size');
  return w;
}

/**
 * Checks both streams. The sub stream feeds the analysis (snapshots, motion,
 * MJPEG), which decodes H.264: another codec there is an error. The main
 * stream only goes to live video: its problems are warnings, except an
 * unreachable or refused stream.
 */
export async function checkCamera(streams: { main?: RtspInput; sub: RtspInput }, opts: CheckOptions = {}): Promise<CameraCheck> {
  const [sub, main] = await Promise.all([checkStream(streams.sub, opts), streams.main ? checkStream(streams.main, opts) : undefined]);
  if (!sub.ok) return { ok: false, error: `sub stream: ${sub.error}`, warnings: [] };
  if (main && !main.ok) return { ok: false, error: `main stream: ${main.error}`, warnings: [], sub: sub.video };
  const warnings = main?.ok ? main.warnings.map((w) => `main stream: ${w}`) : [];
  if (sub.video.codec !== 'h264') {
    return {
      ok: false,
      error: `sub stream: ${sub.video.codec} cannot be analysed here; set the camera's sub stream to H.264`,
      warnings,
      sub: sub.video,
      main: main?.ok ? main.video : undefined,
    };
  }
  return { ok: true, warnings, sub: sub.video, main: main?.ok ? main.video : undefined };
}

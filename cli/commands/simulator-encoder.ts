/**
 * The simulated VBC01's video encoder: ffmpeg's test pattern encoded by
 * libx264 as the camera's answer asks (baseline, profile-level-id 42e01f =
 * constrained baseline level 3.1), paced at the frame rate (`-re`), written to
 * stdout as Annex-B and split into access units here.
 *
 * libx264 cannot change its bitrate while running, so a new bitrate is a new
 * encoder: the streamer starts one, switches to it at its first keyframe and
 * stops the old one (simulator-stream.ts).
 */
import { describeExit, spawnChild, type Child } from '../../nodes/lib/child-process';
import { AnnexBSplitter, type AccessUnit } from './simulator-h264';

export interface EncoderSettings {
  ffmpeg: string;
  /** `WxH`, e.g. 1280x720 */
  size: string;
  fps: number;
  /** frames between keyframes */
  gop: number;
}

export class Encoder {
  private readonly child: Child;
  private stopping = false;

  constructor(
    settings: EncoderSettings,
    readonly bitrateBps: number,
    onAccessUnit: (au: AccessUnit, from: Encoder) => void,
    /** it exited by itself: why, for the log */
    onFailure: (why: string, from: Encoder) => void,
  ) {
    this.child = spawnChild(settings.ffmpeg, ffmpegArgs(settings, bitrateBps), { stdio: ['ignore', 'pipe', 'pipe'] });
    const splitter = new AnnexBSplitter((au) => onAccessUnit(au, this));
    this.child.process.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk));
    void this.child.exited.then((info) => {
      if (!this.stopping) onFailure(describeExit('ffmpeg', info, this.child.stderrTail()), this);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops ffmpeg (and its group); resolves once it has exited. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.child.stop(2000);
  }
}

export function ffmpegArgs(s: EncoderSettings, bitrateBps: number): string[] {
  const kbps = `${Math.round(bitrateBps / 1000)}k`;
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
    ...['-re', '-f', 'lavfi', '-i', `testsrc=size=${s.size}:rate=${s.fps}`],
    // yuv420p: the test source is RGB, and baseline has only 4:2:0. ultrafast keeps a
    // 720p25 encode cheap on a Pi-class machine; maxrate/bufsize (1 s) keep the
    // bitrate at or under what the REMB allows, not just on average.
    ...['-c:v', 'libx264', '-profile:v', 'baseline', '-level', '3.1', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast'],
    ...['-tune', 'zerolatency', '-b:v', kbps, '-maxrate', kbps, '-bufsize', kbps, '-g', String(s.gop)],
    ...['-f', 'h264', '-'],
  ];
}

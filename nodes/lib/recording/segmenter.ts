/**
 * One camera's recording: a supervised ffmpeg copies the camera's video (never re-encoded) into
 * short MPEG-TS segments, cut at key frames, in `<recordings>/<camera>/`, and tells us each
 * finished segment through its segment list on fd 3 (segment-list.ts). It is restarted with
 * backoff when it ends; stop() ends it for good.
 *
 * - The camera's login never reaches the command line: an RTSP source is read from an ffconcat
 *   script on stdin, as the live copy and the ipcam node read cameras (lib/rtsp/rtsp-input.ts).
 * - MPEG-TS, not fMP4: a segment cut short by a crash or a power cut still plays up to its last
 *   packet, and the concat demuxer joins TS segments into an MP4 without re-encoding.
 * - `dump_extra`: SPS/PPS before every key frame, so each segment decodes on its own (an RTSP
 *   source often sends them only in its SDP).
 * - Video only: cameras' audio (G.711, often) cannot be copied into MP4.
 */
import { mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { backoffMs, type BackoffOptions } from '../backoff';
import { spawnChild, type Child, type ExitInfo } from '../child-process';
import { ClockAnchor, LineSplitter, parseListLine } from './segment-list';

/** Where a camera's video comes from, as the ffmpeg input needs it (built by the caller, login hidden). */
export interface SegmenterInput {
  /** input arguments, e.g. `-f concat -safe 0 … -i pipe:0` */
  args: string[];
  /** written to stdin (the ffconcat script with the login), then closed */
  stdin?: string;
}

export interface FinishedSegment {
  cameraId: string;
  /** absolute path */
  file: string;
  startMs: number;
  endMs: number;
  bytes: number;
}

export interface SegmenterOptions {
  cameraId: string;
  input: SegmenterInput;
  /** the camera's own folder (created if missing) */
  dir: string;
  segmentSeconds: number;
  ffmpegPath?: string;
  backoff?: BackoffOptions;
  segment(s: FinishedSegment): void;
  /** a line about a restart or failure; never holds a login (the caller's `describe` is used) */
  problem(line: string, info: ExitInfo, stderrTail: string[]): void;
  now?: () => number;
}

const STOP_GRACE_MS = 3000;
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000 };

/** The ffmpeg arguments of one run; `pattern` is the output file pattern (…-%06d.ts). */
export function segmenterArgs(input: SegmenterInput, segmentSeconds: number, pattern: string): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    ...input.args,
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    '-bsf:v',
    'dump_extra=freq=keyframe',
    '-f',
    'segment',
    '-segment_time',
    String(segmentSeconds),
    '-segment_format',
    'mpegts',
    '-reset_timestamps',
    '1',
    '-segment_list',
    'pipe:3',
    '-segment_list_type',
    'csv',
    pattern,
  ];
}

export class Segmenter {
  private child?: Child;
  private timer?: NodeJS.Timeout;
  private attempts = 0;
  private stopped = false;
  /** segments indexed since the start, and whether the current run has produced one */
  segments = 0;
  running = false;

  constructor(private readonly o: SegmenterOptions) {}

  start(): void {
    mkdirSync(this.o.dir, { recursive: true });
    this.spawn();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.child;
    this.child = undefined;
    this.running = false;
    await child?.stop(STOP_GRACE_MS);
  }

  private spawn(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.o.now ?? Date.now;
    const pattern = join(this.o.dir, `${now()}-%06d.ts`);
    const args = segmenterArgs(this.o.input, this.o.segmentSeconds, pattern);
    const stdin = this.o.input.stdin;
    const child = spawnChild(this.o.ffmpegPath ?? 'ffmpeg', args, {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.process.stdin?.end(stdin);
    this.child = child;
    const anchor = new ClockAnchor();
    let produced = false;
    const lines = new LineSplitter((line) => {
      const listed = parseListLine(line);
      if (!listed) return;
      const { startMs, endMs } = anchor.place(listed, now());
      const file = join(this.o.dir, basename(listed.file));
      let bytes = 0;
      try {
        bytes = statSync(file).size;
      } catch {
        return; // gone already (the folder was cleared under us): nothing to index
      }
      produced = true;
      this.running = true;
      this.segments++;
      this.o.segment({ cameraId: this.o.cameraId, file, startMs, endMs, bytes });
    });
    child.process.stdio[3]?.on('data', (d: Buffer) => lines.push(d));
    void child.exited.then((info) => {
      if (this.child !== child || this.stopped) return;
      this.child = undefined;
      this.running = false;
      if (produced) this.attempts = 0; // it had been recording: the backoff starts afresh
      const wait = backoffMs(++this.attempts, this.o.backoff ?? DEFAULT_BACKOFF);
      this.o.problem(`again in ${Math.round(wait / 100) / 10} s`, info, child.stderrTail());
      this.timer = setTimeout(() => this.spawn(), wait);
    });
  }
}

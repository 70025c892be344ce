/**
 * ffmpeg's `-progress` output: blocks of key=value lines, each block ended by
 * `progress=continue` (or `progress=end` when ffmpeg finishes), e.g.
 *
 *   frame=120
 *   fps=15.00
 *   bitrate= 312.4kbits/s
 *   total_size=468000
 *   out_time_us=8000000
 *   dup_frames=0
 *   drop_frames=0
 *   speed=1.01x
 *   progress=continue
 *
 * Values that are not known yet read `N/A`. The pipe delivers arbitrary
 * chunks, so a line can arrive in pieces.
 */
import { StringDecoder } from 'node:string_decoder';

export interface FfmpegProgress {
  frame: number;
  fps: number;
  /** undefined while ffmpeg reports N/A */
  bitrateKbps?: number;
  totalSize?: number;
  outTimeUs?: number;
  dropFrames: number;
  dupFrames: number;
  /** playback speed relative to real time (1 = real time) */
  speed?: number;
  /** progress=end: ffmpeg is finishing */
  end: boolean;
  /** every field as sent, for keys not listed above (stream_0_0_q, ...) */
  fields: Record<string, string>;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? n : undefined;
}

/** ffmpeg writes the bitrate in kbit/s with its unit ("1234.5kbits/s"); the unit is checked so a change is not misread. */
function kbps(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^([\d.]+)\s*(k|M)?bits\/s$/.exec(value);
  if (!m) return undefined;
  const n = Number.parseFloat(m[1]!);
  return m[2] === 'M' ? n * 1000 : m[2] === 'k' ? n : n / 1000;
}

/** One block's fields as numbers. */
export function parseProgressBlock(fields: Record<string, string>): FfmpegProgress {
  return {
    frame: num(fields.frame) ?? 0,
    fps: num(fields.fps) ?? 0,
    bitrateKbps: kbps(fields.bitrate),
    totalSize: num(fields.total_size),
    outTimeUs: num(fields.out_time_us),
    dropFrames: num(fields.drop_frames) ?? 0,
    dupFrames: num(fields.dup_frames) ?? 0,
    speed: num(fields.speed?.replace(/x$/, '')),
    end: fields.progress === 'end',
    fields,
  };
}

/** Feeds chunks in; calls `onBlock` once per complete block. */
export class ProgressParser {
  private partial = '';
  private fields: Record<string, string> = {};
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onBlock: (progress: FfmpegProgress) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split(/\r?\n/);
    // The last piece has no newline yet: it may be half a line.
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    this.fields[key] = value;
    if (key !== 'progress') return;
    const block = this.fields;
    this.fields = {};
    this.onBlock(parseProgressBlock(block));
  }
}

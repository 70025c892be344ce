/**
 * An MP4 of a time range, made from the segments that cover it without re-encoding: ffmpeg's
 * concat demuxer joins the segments, an input seek starts at the key frame at or before the
 * range's start (so a clip may begin up to one key-frame interval early, never late), `-t`
 * ends it, and `+faststart` puts the index first so a browser plays it before it has it all.
 *
 * The list goes to ffmpeg on stdin; every file in it was checked to be inside the recordings
 * folder by the caller (paths.ts). A gap between segments (the camera was away) is closed up
 * in the MP4: its time line is the footage's, not the clock's.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { describeExit, spawnChild } from '../child-process';

export interface CutSegment {
  /** absolute, checked */
  file: string;
  startMs: number;
  endMs: number;
}

export interface CutResult {
  file: string;
  bytes: number;
  durationMs: number;
}

/** ffconcat quoting: inside single quotes, a quote is written '\'' (as in a shell). */
const quoted = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

/** The concat script for `segments` (each read through the file protocol: the script itself comes from a pipe). */
export function concatList(segments: readonly CutSegment[]): string {
  return ['ffconcat version 1.0', ...segments.map((s) => `file ${quoted(`file:${s.file}`)}`), ''].join('\n');
}

/** The ffmpeg arguments that cut [fromMs, toMs] of `segments` (oldest first) into `out`. */
export function cutArgs(segments: readonly CutSegment[], fromMs: number, toMs: number, out: string): string[] {
  const first = segments[0]!.startMs;
  const offsetS = Math.max(0, fromMs - first) / 1000;
  const lengthS = Math.max(0.1, (toMs - Math.max(fromMs, first)) / 1000);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    '-f',
    'concat',
    '-safe',
    '0',
    '-protocol_whitelist',
    'file,pipe',
    '-ss',
    offsetS.toFixed(3),
    '-i',
    'pipe:0',
    '-t',
    lengthS.toFixed(3),
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    out,
  ];
}

/** Cuts the range into `out` (written beside it first, then renamed: a reader never sees half a file). */
export async function cutMp4(
  segments: readonly CutSegment[],
  fromMs: number,
  toMs: number,
  out: string,
  ffmpeg = 'ffmpeg',
): Promise<CutResult> {
  if (segments.length === 0) throw new Error('no recorded video covers this time');
  const partial = `${out}.part`;
  const child = spawnChild(ffmpeg, cutArgs(segments, fromMs, toMs, partial), { stdio: ['pipe', 'ignore', 'pipe'] });
  child.process.stdin?.end(concatList(segments));
  const info = await child.exited;
  if (info.code !== 0) {
    await rm(partial, { force: true });
    throw new Error(describeExit('ffmpeg', info, child.stderrTail()));
  }
  await rename(partial, out);
  const bytes = (await stat(out)).size;
  return { file: out, bytes, durationMs: await probeDurationMs(out) };
}

/** The MP4's duration (ffprobe), in ms. */
export function probeDurationMs(file: string, ffprobe = 'ffprobe'): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', `file:${file}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const s = Number(out.trim());
      if (code === 0 && Number.isFinite(s)) resolve(Math.round(s * 1000));
      else reject(new Error(`ffprobe could not read the duration of the clip (exit ${code})`));
    });
  });
}

/**
 * A clip a Pi recorded while its uplink was down, arriving at the cloud (issue 19: "the clips
 * arrive later"). The body goes to a temporary file inside the recordings folder, bounded in
 * size; nothing opens it before its first bytes say MP4 (nodes/lib/uploads/media-type.ts, as for
 * a VBC01 upload) and ffprobe, told the format and allowed only the file protocol, finds a video
 * stream and a duration in it. Only then does it become the event's clip: the same row, folder
 * and `clip/ready` as a clip the recorder cut itself, so the dashboard and the alerts use it alike.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { describeContent, HEAD_BYTES, videoType } from '../uploads/media-type';
import type { ClipRow, RecordingStore } from '../store/recordings';
import { indexName } from './paths';

/** A refusal with the HTTP status the sender gets (4xx: the sender must not send it again as it is, but 409). */
export class ClipRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ClipArrival {
  cameraId: string;
  eventId: string;
  /** the footage's first and last instant (Unix ms), as the Pi's index has them */
  startMs: number;
  endMs: number;
  body: Readable;
  /** Content-Length, when the sender gave one */
  declaredBytes?: number;
}

export interface ClipIntakeOptions {
  root: string;
  store: RecordingStore;
  maxBytes: number;
  /** the file name of an event's clip in its camera's clips folder (the cutter's own) */
  clipName(eventId: string): string;
  ffprobePath?: string;
}

export type ClipIntakeResult = { stored: true; row: Omit<ClipRow, 'updatedMs'> } | { stored: false; reason: string };

/** Copies `body` to `file`, refusing past `maxBytes` (413) without keeping what came. */
async function receive(body: Readable, file: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, next) {
      bytes += chunk.length;
      if (bytes > maxBytes) next(new ClipRefused(413, `a clip may be at most ${Math.round(maxBytes / 1024 ** 2)} MB`));
      else next(null, chunk);
    },
  });
  const out = createWriteStream(file, { flags: 'wx' });
  try {
    await pipeline(body, count, out);
  } finally {
    // A body refused at its first chunk fails the pipeline before the file is even opened: wait
    // until it was opened and closed, or the caller's rm runs first and the file appears after it.
    await finished(out).catch(() => undefined);
  }
  return bytes;
}

async function head(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** ffprobe of an MP4 (format forced, file protocol only): its duration, or why it is not a playable video. */
export function probeMp4(file: string, ffprobe = 'ffprobe'): Promise<{ durationMs: number } | { problem: string }> {
  const args = ['-v', 'error', '-f', 'mov', '-protocol_whitelist', 'file', '-show_entries', 'stream=codec_type:format=duration'];
  return new Promise((resolve) => {
    const p = spawn(ffprobe, [...args, '-of', 'json', `file:${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    p.on('error', (e) => resolve({ problem: `ffprobe could not run: ${e.message}` }));
    p.on('close', (code) => {
      if (code !== 0) return resolve({ problem: `not a readable MP4 (${err.trim().split('\n').at(-1) ?? `ffprobe exit ${code}`})` });
      try {
        const parsed = JSON.parse(out) as { streams?: Array<{ codec_type?: string }>; format?: { duration?: string } };
        const seconds = Number(parsed.format?.duration);
        if (!parsed.streams?.some((s) => s.codec_type === 'video')) return resolve({ problem: 'the MP4 holds no video stream' });
        if (!Number.isFinite(seconds) || seconds <= 0) return resolve({ problem: 'the MP4 has no duration' });
        resolve({ durationMs: Math.round(seconds * 1000) });
      } catch {
        resolve({ problem: 'ffprobe gave no answer about the file' });
      }
    });
  });
}

/** Whether the store can take a clip for this event now; a reason (and stored: false) when it has one already. */
async function admit(store: RecordingStore, a: ClipArrival): Promise<{ stored: false; reason: string } | undefined> {
  const existing = await store.clip(a.cameraId, a.eventId);
  if (existing?.state === 'ready') return { stored: false, reason: 'the cloud already has a clip for this event' };
  if (existing?.state === 'recording') throw new ClipRefused(409, 'the cloud is still cutting its own clip of this event: try later');
  if (!(await store.event(a.cameraId, a.eventId)))
    throw new ClipRefused(
      409,
      `event "${a.eventId}" of camera "${a.cameraId}" is not in the store yet (its messages may be on their way): try later`,
    );
  return undefined;
}

/**
 * Takes one clip. Throws ClipRefused (4xx) with the reason; whatever was received is removed unless
 * it became the clip. A clip for an event that already has one is not stored again (stored: false).
 */
export async function takeClip(o: ClipIntakeOptions, a: ClipArrival): Promise<ClipIntakeResult> {
  if (a.declaredBytes !== undefined && a.declaredBytes > o.maxBytes)
    throw new ClipRefused(
      413,
      `a clip may be at most ${Math.round(o.maxBytes / 1024 ** 2)} MB (this one is ${Math.round(a.declaredBytes / 1024 ** 2)} MB)`,
    );
  const already = await admit(o.store, a);
  if (already) {
    a.body.resume(); // read and dropped, so the connection can carry the answer
    return already;
  }
  const incoming = join(o.root, '.incoming');
  mkdirSync(incoming, { recursive: true });
  const tmp = join(incoming, `${randomUUID()}.mp4`);
  let kept = false;
  try {
    const bytes = await receive(a.body, tmp, o.maxBytes);
    const start = await head(tmp);
    if (videoType(start)?.format !== 'mp4') throw new ClipRefused(415, `a clip must be an MP4; this is ${describeContent(start)}`);
    const probed = await probeMp4(tmp, o.ffprobePath);
    if ('problem' in probed) throw new ClipRefused(422, probed.problem);
    const dir = join(o.root, a.cameraId, 'clips');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, o.clipName(a.eventId));
    await rename(tmp, file);
    kept = true;
    const row = {
      cameraId: a.cameraId,
      eventId: a.eventId,
      state: 'ready' as const,
      startMs: a.startMs,
      endMs: a.endMs,
      durationMs: probed.durationMs,
      bytes,
      file: indexName(o.root, file),
      reason: null,
    };
    await o.store.finishClip(row);
    return { stored: true, row };
  } finally {
    if (!kept) await rm(tmp, { force: true });
  }
}

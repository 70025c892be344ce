/**
 * Makes an uploaded recording playable in the browser: ffmpeg copies (never
 * re-encodes) its video into HLS segments beside it, and the playlist is
 * served per event as seed 004's `/api/media/playlist/{event_id}.m3u8`.
 *
 * The recording is a device's file: ffmpeg reads it only once its first bytes
 * showed a video format we expect, with that format forced (`-f`, so ffmpeg's
 * own guess can never pick a playlist or concat demuxer that opens other
 * files), only through the `file` protocol, and only from inside the uploads
 * folder (real path, symbolic links resolved).
 */
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { describeExit, spawnChild } from '../lib/child-process';
import { readHead, requireVideo, UnexpectedMediaError, type VideoType } from '../lib/uploads/media-type';

export const PLAYLIST_NAME = 'index.m3u8';
export const SEGMENT_NAME = /^segment\d{3,6}\.ts$/;

async function insideRoot(root: string, path: string, what: string): Promise<string> {
  const [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnexpectedMediaError(`${what} ${path} is not inside the uploads folder ${root}: not read`);
  }
  return real;
}

/** Checks a stored recording before ffmpeg may read it; resolves with its real path and format. */
export async function checkRecording(recording: string, uploadsRoot: string): Promise<{ path: string; type: VideoType }> {
  const path = await insideRoot(uploadsRoot, recording, 'recording');
  const type = requireVideo(await readHead(path), `the recording ${recording.split('/').at(-1)}`);
  return { path, type };
}

/** ffmpeg's input options for a checked recording: its format, the file protocol only. */
export function recordingInput(path: string, type: VideoType): string[] {
  // MP4's data references (dref) can name other files; ffmpeg ignores them by default: say so anyway.
  const demuxerOptions = type.demuxer === 'mov' ? ['-enable_drefs', '0'] : [];
  return ['-protocol_whitelist', 'file', '-f', type.demuxer, ...demuxerOptions, '-i', `file:${path}`];
}

/**
 * Raw H.264 has no timestamps and the MPEG-TS muxer refuses packets without
 * them: presentation order is taken as decoding order, right for the streams
 * our cameras record (no B-frames).
 */
function timestampFix(type: VideoType): string[] {
  return type.format === 'h264' ? ['-bsf:v', 'setts=pts=DTS'] : [];
}

/**
 * Remuxes `recording` (which must lie inside `uploadsRoot`) into `outDir`;
 * resolves with the playlist's path. Refuses anything that is not a video we
 * expect with an UnexpectedMediaError. `signal` stops ffmpeg (a redeploy must
 * not leave it running).
 */
export async function makeHls(
  recording: string,
  outDir: string,
  opts: { uploadsRoot: string; ffmpeg?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<string> {
  const { ffmpeg = 'ffmpeg', timeoutMs = 120_000, signal } = opts;
  signal?.throwIfAborted();
  const input = await checkRecording(recording, opts.uploadsRoot);
  await mkdir(outDir, { recursive: true });
  await insideRoot(opts.uploadsRoot, outDir, 'the playlist folder');
  const playlist = join(outDir, PLAYLIST_NAME);
  const child = spawnChild(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      ...recordingInput(input.path, input.type),
      '-map',
      '0:v:0',
      '-map',
      '0:a?',
      '-c',
      'copy',
      ...timestampFix(input.type),
      '-f',
      'hls',
      '-hls_time',
      '4',
      '-hls_list_size',
      '0',
      '-hls_playlist_type',
      'vod',
      '-hls_segment_filename',
      join(outDir, 'segment%03d.ts'),
      playlist,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = () => void child.stop(2000);
  const timer = setTimeout(stop, timeoutMs);
  signal?.addEventListener('abort', stop, { once: true });
  const exit = await child.exited.finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  });
  if (exit.code !== 0) throw new Error(describeExit('ffmpeg', exit, child.stderrTail()));
  return playlist;
}

/**
 * The playlist as served at `/api/media/playlist/{eventId}.m3u8`: segment lines
 * become `{eventId}/segmentNNN.ts`, which a player resolves next to the playlist URL
 * (with the playlist's `?camera=`, which a relative URL does not inherit).
 */
export async function servedPlaylist(playlistPath: string, eventId: string, cameraId?: string): Promise<string> {
  const text = await readFile(playlistPath, 'utf8');
  const query = cameraId ? `?camera=${encodeURIComponent(cameraId)}` : '';
  return text
    .split('\n')
    .map((line) => (SEGMENT_NAME.test(line.trim()) ? `${encodeURIComponent(eventId)}/${line.trim()}${query}` : line))
    .join('\n');
}

/**
 * Makes an uploaded recording playable in the browser: ffmpeg copies (never
 * re-encodes) its video into HLS segments beside it, and the playlist is
 * served per event as seed 004's `/api/media/playlist/{event_id}.m3u8`.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeExit, spawnChild } from '../lib/child-process';

export const PLAYLIST_NAME = 'index.m3u8';
export const SEGMENT_NAME = /^segment\d{3,6}\.ts$/;

/**
 * Remuxes `recording` into `outDir`; resolves with the playlist's path. `signal`
 * stops ffmpeg (a redeploy must not leave it running).
 */
export async function makeHls(
  recording: string,
  outDir: string,
  opts: { ffmpeg?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const { ffmpeg = 'ffmpeg', timeoutMs = 120_000, signal } = opts;
  signal?.throwIfAborted();
  await mkdir(outDir, { recursive: true });
  const playlist = join(outDir, PLAYLIST_NAME);
  const child = spawnChild(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-i',
      recording,
      '-map',
      '0:v:0',
      '-map',
      '0:a?',
      '-c',
      'copy',
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

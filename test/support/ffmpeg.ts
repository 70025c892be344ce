/** Whether the camera tests can run: they need ffmpeg and ffprobe on both ends of the stream. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ffmpegInstalled } from '../../nodes/lib/child-process';

export const hasFfmpeg = ffmpegInstalled() && spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;

/** CI installs ffmpeg (scripts/install-test-deps.sh); elsewhere a test says why it skipped. */
export const skipWithoutFfmpeg =
  !hasFfmpeg && !process.env.CI ? 'ffmpeg and ffprobe are not installed (scripts/install-test-deps.sh installs them)' : false;

/** A short H.264 MP4 of ffmpeg's test pattern, as a camera would record it. */
export function testRecording(file: string, width = 160, height = 120, seconds = 3): Buffer {
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=10`, '-t', String(seconds)];
  const encode = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '10', file];
  const made = spawnSync('ffmpeg', [...args, ...encode], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${made.stderr?.toString()}`);
  return readFileSync(file);
}

/**
 * An event clip as the recorder hands it over: H.264 MP4 of the test pattern with its index
 * at the front (`+faststart`), so a browser plays it from a range request at once.
 */
export function testClip(file: string, seconds = 3, width = 160, height = 120): Buffer {
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=10`, '-t', String(seconds)];
  const encode = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '10', '-movflags', '+faststart', file];
  const made = spawnSync('ffmpeg', [...args, ...encode], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${made.stderr?.toString()}`);
  return readFileSync(file);
}

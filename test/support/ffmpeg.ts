/** Whether the camera tests can run: they need ffmpeg and ffprobe on both ends of the stream. */
import { spawnSync } from 'node:child_process';
import { ffmpegInstalled } from '../../nodes/lib/child-process';

export const hasFfmpeg = ffmpegInstalled() && spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;

/** CI installs ffmpeg (scripts/install-test-deps.sh); elsewhere a test says why it skipped. */
export const skipWithoutFfmpeg =
  !hasFfmpeg && !process.env.CI ? 'ffmpeg and ffprobe are not installed (scripts/install-test-deps.sh installs them)' : false;

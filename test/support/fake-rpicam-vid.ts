/**
 * A stand-in `rpicam-vid` for machines without a camera: an executable script
 * that parses rpicam-vid's real options (rpicam-apps core/options.cpp and
 * video_options.hpp) and refuses any other the way rpicam-vid does, so a wrong
 * flag in nodes/lib/camera/commands.ts fails the tests. It encodes ffmpeg's moving testsrc2 at
 * the requested size, rate, bitrate and intra period into raw H.264 on stdout
 * (or the lavfi graph in FAKE_RPICAM_SCENE: a scene whose motion a test knows).
 *
 * FAKE_RPICAM_INPUT names a video file to show instead (looped, scaled to the
 * requested size): the detector tests' scenes.
 *
 * Stalling, for the stall tests: SIGUSR1 makes it stop writing (it stays
 * alive, its encoder keeps running), SIGUSR2 makes it write again; so does the
 * existence of the file named by FAKE_RPICAM_STALL_FILE.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Plain JavaScript, run by this Node. OPTIONS: 1 = takes a value, FLAG = a switch (boost's implicit value). */
const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const FLAG = 'flag';
const OPTIONS = {
  help: FLAG, version: FLAG, 'list-cameras': FLAG, camera: 1, verbose: FLAG, config: 1, 'info-text': 1,
  width: 1, height: 1, timeout: 1, output: 1, 'post-process-file': 1, nopreview: FLAG, preview: 1,
  fullscreen: FLAG, 'qt-preview': FLAG, hflip: FLAG, vflip: FLAG, rotation: 1, roi: 1, shutter: 1,
  analoggain: 1, gain: 1, metering: 1, exposure: 1, ev: 1, awb: 1, awbgains: 1, flush: FLAG, wrap: 1,
  brightness: 1, contrast: 1, saturation: 1, sharpness: 1, framerate: 1, denoise: 1, 'tuning-file': 1,
  'viewfinder-width': 1, 'viewfinder-height': 1, 'lores-width': 1, 'lores-height': 1, mode: 1,
  'viewfinder-mode': 1, 'buffer-count': 1, 'viewfinder-buffer-count': 1, 'no-raw': FLAG,
  'autofocus-mode': 1, 'autofocus-range': 1, 'autofocus-speed': 1, 'autofocus-window': 1,
  'lens-position': 1, hdr: FLAG, metadata: 1, 'metadata-format': 1, 'flicker-period': 1,
  bitrate: 1, profile: 1, level: 1, intra: 1, inline: FLAG, codec: 1, 'save-pts': 1, quality: 1,
  listen: FLAG, keypress: FLAG, signal: FLAG, initial: 1, split: FLAG, segment: 1, circular: FLAG,
  frames: 1, 'libav-video-codec': 1, 'libav-video-codec-opts': 1, 'libav-format': 1, 'libav-audio': FLAG,
  'audio-codec': 1, 'audio-source': 1, 'audio-device': 1, 'audio-channels': 1, 'audio-bitrate': 1,
  'audio-samplerate': 1, 'av-sync': 1, 'low-latency': FLAG, sync: 1,
};
const SHORT = { h: 'help', v: 'verbose', c: 'config', t: 'timeout', o: 'output', n: 'nopreview', p: 'preview',
  f: 'fullscreen', b: 'bitrate', g: 'intra', q: 'quality', l: 'listen', k: 'keypress', s: 'signal', i: 'initial' };

function fail(message) {
  process.stderr.write('ERROR: *** ' + message + ' ***\n');
  process.exit(255);
}
const opts = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  let name, value;
  if (arg.startsWith('--')) [name, value] = arg.slice(2).split(/=(.*)/s);
  else if (/^-[a-z]$/.test(arg) && SHORT[arg[1]]) name = SHORT[arg[1]];
  else fail("unrecognised option '" + arg + "'");
  if (!(name in OPTIONS)) fail("unrecognised option '--" + name + "'");
  if (value === undefined && OPTIONS[name] !== FLAG) {
    if (i + 1 >= argv.length) fail("the required argument for option '--" + name + "' is missing");
    value = argv[++i];
  }
  opts[name] = value === undefined ? 'true' : value;
}
function count(name, def) {
  const v = opts[name] ?? def;
  if (!/^\d+(\.\d+)?$/.test(v)) fail("the argument ('" + v + "') for option '--" + name + "' is invalid");
  return Number(v);
}
function millis(v) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|sec|min)?$/.exec(v);
  if (!m) fail('Invalid time string provided');
  return Number(m[1]) * ({ s: 1000, sec: 1000, min: 60000 }[m[2]] ?? 1);
}
function bits(v) {
  const m = /^(\d+(?:\.\d+)?)(bps|kbps|mbps)?$/i.exec(v);
  if (!m) fail('Invalid bitrate string provided');
  return Math.round(Number(m[1]) * ({ kbps: 1e3, mbps: 1e6 }[(m[2] ?? '').toLowerCase()] ?? 1));
}
const codec = opts.codec ?? 'h264';
if (codec !== 'h264') fail('fake rpicam-vid only encodes h264 (asked for ' + codec + ')');
if (opts.output !== '-') fail('fake rpicam-vid only writes to stdout (-o -)');
const rotation = count('rotation', '0');
if (rotation !== 0 && rotation !== 180) fail('transform requires an unsupported rotation');
const width = count('width', '640'), height = count('height', '480'), rate = count('framerate', '30');
const intra = count('intra', '0'), timeoutMs = millis(opts.timeout ?? '5sec');
const on = (name) => opts[name] !== undefined && opts[name] !== 'false' && opts[name] !== '0';
const hflip = on('hflip') !== (rotation === 180), vflip = on('vflip') !== (rotation === 180);

// FAKE_RPICAM_INPUT: a video file the "camera" sees (looped); else FAKE_RPICAM_SCENE: another lavfi
// graph ({size} and {rate} filled in), for a picture whose motion is known; else the test pattern.
const input = process.env.FAKE_RPICAM_INPUT;
const scene = (process.env.FAKE_RPICAM_SCENE || 'testsrc2=size={size}:rate={rate}')
  .replaceAll('{size}', width + 'x' + height).replaceAll('{rate}', String(rate));
const args = input
  ? ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', input]
  : ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', scene];
if (timeoutMs > 0) args.push('-t', String(timeoutMs / 1000));
const filters = [input && 'scale=' + width + ':' + height, hflip && 'hflip', vflip && 'vflip'].filter(Boolean);
if (filters.length) args.push('-vf', filters.join(','));
args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-bf', '0', '-pix_fmt', 'yuv420p');
const bitrate = bits(opts.bitrate ?? '0');
if (bitrate > 0) args.push('-b:v', String(bitrate));
// A fixed GOP: --intra N is a key frame (with SPS/PPS, as --inline asks) every N frames.
if (intra > 0) args.push('-g', String(intra), '-keyint_min', String(intra), '-sc_threshold', '0');
// rpicam-vid writes every frame as it is encoded; ffmpeg would hold 32 kB back.
args.push('-flush_packets', '1', '-f', 'h264', 'pipe:1');

const ffmpeg = spawn(process.env.FFMPEG || 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'inherit'] });
let stalled = false;
const stallFile = process.env.FAKE_RPICAM_STALL_FILE;
process.on('SIGUSR1', () => (stalled = true));
process.on('SIGUSR2', () => (stalled = false));
ffmpeg.stdout.on('data', (d) => {
  if (!stalled && !(stallFile && existsSync(stallFile))) process.stdout.write(d);
});
process.stdout.on('error', () => process.exit(0)); // the reader went away: rpicam-vid dies of SIGPIPE
const end = () => { ffmpeg.kill('SIGTERM'); };
process.on('SIGTERM', end);
process.on('SIGINT', end);
ffmpeg.on('exit', (code, signal) => process.exit(signal ? 0 : code ?? 0));
process.stderr.write('[0:00:00.000000000] [fake] fake rpicam-vid ' + width + 'x' + height + ' at ' + rate + ' fps\n');
`;

/** Writes the fake as `<dir>/rpicam-vid` (run by this Node) and returns its path. */
export function buildFakeRpicamVid(dir: string): string {
  const path = join(dir, 'rpicam-vid');
  writeFileSync(path, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(path, 0o755);
  return path;
}

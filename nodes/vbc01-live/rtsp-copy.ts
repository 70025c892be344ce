/**
 * The ffmpeg that copies one RTSP source into a bridge stream: the video only, never
 * re-encoded, as RTP with the SSRC the bridge was told to accept, to the stream's video RTP
 * port on this host.
 *
 * - The source's login never reaches the command line: an RTSP source is read from an
 *   ffconcat script on stdin (lib/rtsp/rtsp-input.ts, as the ipcam node reads cameras).
 * - `dump_extra` puts the SPS/PPS in front of every keyframe: an RTSP source often sends
 *   them only in its SDP (sprop-parameter-sets), and a browser joining over WHEP gets no SDP
 *   from the camera, only the RTP, so it could not decode without them in-band.
 * - Packets of at most 1200 bytes, so they still fit a 1500-byte MTU after SRTP and the
 *   browsers' ICE/TURN overhead.
 * - An ffmpeg copy reads no RTCP: it cannot honour a viewer's keyframe request (PLI/FIR), so
 *   a viewer that joins late starts at the source's next keyframe (its GOP: 2 s for the Pi
 *   camera, key-int 10 frames for the test camera).
 */
import { describeExit, type ExitInfo } from '../lib/child-process';
import type { Command } from '../lib/camera/commands';
import { redactText } from '../lib/redact';
import { concatScript, hiddenInputArgs, rtspFailure } from '../lib/rtsp/rtsp-input';
import { sourceSecrets, sourceWhere, type RtspSourceSpec } from '../lib/rtsp/rtsp-sources';

/** Where the copy sends: the stream's video RTP port on this host, with the SSRC the bridge checks. */
export interface CopyTarget {
  port: number;
  ssrc: number;
}

/** RTP payload size: an MTU of 1500 less IP/UDP, SRTP and TURN headers, with room to spare. */
const RTP_PACKET_BYTES = 1200;
/** The H.264 payload type of the copy (the bridge rewrites it for each viewer anyway). */
const PAYLOAD_TYPE = 96;

function inputArgs(spec: RtspSourceSpec): { args: string[]; stdin?: string } {
  if (spec.kind === 'rtsp') return { args: hiddenInputArgs(), stdin: concatScript(spec.input) };
  return { args: ['-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', spec.file] };
}

export function copyCommand(spec: RtspSourceSpec, target: CopyTarget, ffmpegPath = 'ffmpeg'): Command {
  const input = inputArgs(spec);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostats', ...input.args];
  args.push('-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe');
  // No sender reports: the bridge sends none back for them to serve, and one before the first RTP packet
  // would come from a source the bridge has not learned yet (counted as spoofed).
  args.push('-f', 'rtp', '-ssrc', String(target.ssrc), '-payload_type', String(PAYLOAD_TYPE), '-rtpflags', 'skip_rtcp');
  args.push(`rtp://127.0.0.1:${target.port}?pkt_size=${RTP_PACKET_BYTES}`);
  return { command: ffmpegPath, args, ...(input.stdin !== undefined && { stdin: input.stdin }) };
}

/** Text with the source's password and any URL login replaced by ***. */
export function scrub(spec: RtspSourceSpec, text: string): string {
  let out = redactText(text);
  for (const secret of sourceSecrets(spec)) out = out.split(secret).join('***');
  return out;
}

/** An SDP source whose file is not there: its writer (the demo's RTSP sink) has had no stream yet. */
function sdpFailure(file: string, stderrTail: readonly string[]): string | undefined {
  if (stderrTail.some((l) => /No such file or directory/.test(l)))
    return `no stream is described at ${file} yet (the file does not exist: is the source publishing?)`;
  return undefined;
}

/**
 * One line that says why the copy ended: what the source answered (401, 404, refused,
 * time-out) when ffmpeg's lines tell it, else how ffmpeg ended and its last line. No login.
 */
export function copyFailure(spec: RtspSourceSpec, info: ExitInfo, stderrTail: readonly string[]): string {
  const where = sourceWhere(spec);
  const known = spec.kind === 'rtsp' ? rtspFailure(stderrTail, spec.input.url) : sdpFailure(spec.file, stderrTail);
  const line = known ?? `the copy of ${where}: ${describeExit('ffmpeg', info, stderrTail)}`;
  return scrub(spec, line.replace(/\s+/g, ' ')).slice(0, 300);
}

/**
 * What the simulated VBC01 reads from the `sdpOffer` of a `stream/play`
 * (vbc01-protocol.md §7): the platform's edited copy of the media server's
 * answer. It checks what the reference says a real camera is given and
 * needs, and refuses the answer with one clear reason otherwise:
 *
 * - an IPv4 `c=` address (session or video level) that is a destination, and
 *   `m=video PORT` with an H264/90000 payload type and `a=rtcp:PORT`;
 * - in the video section, `a=recvonly` followed at once by `a=direction:passive`;
 * - the first `a=ssrc:` of the video section 1607797317, of the audio section
 *   (when there is one) 229236353;
 * - the last three lines `a=x-skl-ssrca:229236353`, `a=x-skl-ssrcv:1607797317`,
 *   `a=x-skl-cname:{cname}`.
 *
 * What the real firmware does with a different answer is not in the source:
 * these are the checks of a strict camera, so the platform's answer is
 * known to carry everything the real one was given.
 */
import { VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../../nodes/lib/vbc01';
import { isIPv4 } from 'node:net';

/** The SSRCs a VBC01 always sends with (vbc01-protocol.md §7, edit 1). */
export { VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../../nodes/lib/vbc01';

/** Where and how the camera sends its video, from an accepted answer. */
export interface StreamTarget {
  address: string;
  videoPort: number;
  videoRtcpPort: number;
  /** the H264/90000 payload type of the `m=video` line */
  videoPayloadType: number;
  cname: string;
}

export type AnswerCheck = { ok: true; target: StreamTarget } | { ok: false; reason: string };

interface Section {
  /** the `m=` line, or '' for the session part */
  media: string;
  lines: string[];
}

/** Checks the answer a `stream/play` carries; `reason` names the first thing a camera would refuse. */
export function checkCameraAnswer(sdp: unknown): AnswerCheck {
  if (typeof sdp !== 'string' || !sdp.trim()) return no('sdpOffer is missing or empty');
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (!lines[0]?.startsWith('v=')) return no('sdpOffer is not SDP (it does not start with v=)');
  const sections = splitSections(lines);
  const video = sections.find((s) => s.media.startsWith('m=video '));
  if (!video) return no('no m=video section');
  const audio = sections.find((s) => s.media.startsWith('m=audio '));

  const tail = checkTail(lines);
  if (typeof tail !== 'string') return tail;
  const direction = checkDirection(video);
  if (direction) return no(direction);
  const ssrc = checkSsrc(video, VBC01_VIDEO_SSRC, 'video') ?? (audio ? checkSsrc(audio, VBC01_AUDIO_SSRC, 'audio') : undefined);
  if (ssrc) return no(ssrc);
  const media = videoMedia(video);
  if (typeof media === 'string') return no(media);
  const address = connectionAddress(video) ?? connectionAddress(sections[0]!);
  if (!address) return no('no c=IN IP4 address to send to (session or video level)');
  if (!isIPv4(address) || address === '0.0.0.0') return no(`c= address ${address} is not an IPv4 destination`);
  return { ok: true, target: { address, ...media, cname: tail } };
}

const no = (reason: string): AnswerCheck => ({ ok: false, reason });

function splitSections(lines: string[]): Section[] {
  const sections: Section[] = [{ media: '', lines: [] }];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push({ media: line, lines: [] });
    else sections.at(-1)!.lines.push(line);
  }
  return sections;
}

/** The three `x-skl` lines at the very end (edit 3); the cname, or the refusal. */
function checkTail(lines: string[]): string | AnswerCheck {
  const [a, v, c] = lines.slice(-3);
  if (a !== `a=x-skl-ssrca:${VBC01_AUDIO_SSRC}`) return no(`the third-last line is not a=x-skl-ssrca:${VBC01_AUDIO_SSRC} (got ${show(a)})`);
  if (v !== `a=x-skl-ssrcv:${VBC01_VIDEO_SSRC}`)
    return no(`the second-last line is not a=x-skl-ssrcv:${VBC01_VIDEO_SSRC} (got ${show(v)})`);
  const cname = /^a=x-skl-cname:(\S+)$/.exec(c ?? '')?.[1];
  if (!cname) return no(`the last line is not a=x-skl-cname:{cname} (got ${show(c)})`);
  return cname;
}

/** Edit 5: `a=direction:passive` right after `a=recvonly` in the video section. */
function checkDirection(video: Section): string | undefined {
  const at = video.lines.indexOf('a=recvonly');
  if (at < 0) return 'the video section has no a=recvonly';
  if (video.lines[at + 1] !== 'a=direction:passive')
    return `the video section's a=recvonly is not followed by a=direction:passive (got ${show(video.lines[at + 1])})`;
  return undefined;
}

/** Edit 1: the first `a=ssrc:` of a section carries the fixed SSRC. */
function checkSsrc(section: Section, want: number, kind: string): string | undefined {
  const line = section.lines.find((l) => l.startsWith('a=ssrc:'));
  if (!line) return `the ${kind} section has no a=ssrc: line (want ${want})`;
  const got = /^a=ssrc:(\d+)/.exec(line)?.[1];
  return got === String(want) ? undefined : `the ${kind} section's first a=ssrc is ${got ?? show(line)}, not ${want}`;
}

function videoMedia(video: Section): Omit<StreamTarget, 'address' | 'cname'> | string {
  const m = /^m=video (\d+) RTP\/AVPF? ([\d ]+)$/.exec(video.media);
  if (!m) return `the m=video line is not "m=video PORT RTP/AVPF PT..." (got ${show(video.media)})`;
  const videoPort = Number(m[1]);
  if (!validPort(videoPort)) return `m=video port ${m[1]} is not a port to send to`;
  const types = m[2]!.trim().split(/ +/).map(Number);
  const h264 = types.find((pt) => video.lines.some((l) => new RegExp(`^a=rtpmap:${pt} H264/90000$`, 'i').test(l)));
  if (h264 === undefined) return `the m=video line offers no H264/90000 payload type (${m[2]!.trim()})`;
  const rtcp = /^a=rtcp:(\d+)/.exec(video.lines.find((l) => l.startsWith('a=rtcp:')) ?? '')?.[1];
  if (!rtcp) return 'the video section has no a=rtcp:PORT';
  if (!validPort(Number(rtcp))) return `a=rtcp port ${rtcp} is not a port to send to`;
  return { videoPort, videoRtcpPort: Number(rtcp), videoPayloadType: h264 };
}

const validPort = (p: number) => Number.isInteger(p) && p > 0 && p < 65536;

function connectionAddress(section: Section): string | undefined {
  const line = section.lines.find((l) => l.startsWith('c='));
  return line ? (/^c=IN IP[46] ([^\s/]+)/.exec(line)?.[1] ?? line.slice(2)) : undefined;
}

const show = (line: string | undefined) => (line === undefined ? 'nothing' : JSON.stringify(line.slice(0, 80)));

/**
 * What goes to a VBC01 camera to make it stream, and every guess about it, in one place
 * (issue 17 item 2). The facts come from the real platform's source
 * (vbc01-protocol.md §6 and §7: `stream/play|keepalive|stop`, the edited Kurento answer);
 * what the source leaves unknown is marked UNKNOWN below and listed in docs/live-video.md
 * "VBC01 live view". Those parts are verified only against the simulated camera: a real
 * camera must be checked first with a packet capture of its reaction to `stream/play`.
 *
 * Nothing here knows Node-RED, sockets or timers: the camera session (camera-session.ts)
 * decides when, this module decides what.
 */
import { creationTimestamp, VBC01_AUDIO_SSRC, VBC01_DEVICE_TYPE, VBC01_VIDEO_SSRC } from '../lib/vbc01';
import { randomInt, randomUUID } from 'node:crypto';
import type { CommandEnvelope } from '../lib/types';
import type { LiveStreamPorts } from '../lib/live/bridge-types';

/** The SSRCs every VBC01 sends with (§7 edit 1): the bridge accepts only these. */
export { VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../lib/vbc01';

/** §7: the real platform sends a keepalive at once, then every 15 s (4 s was the AWS-era value). */
export const KEEPALIVE_SECONDS = 15;

export type StreamAction = 'play' | 'keepalive' | 'stop';

/** `prod/honeycomb/{id}/stream/play` (§6): the SDP is the one the camera must send to. */
export interface StreamPlayCommand extends CommandEnvelope {
  streamId: string;
  sdpOffer: string;
  messageType: 'play';
}

/** `.../stream/keepalive`: keepaliveCount is 0 for the first one. */
export interface StreamKeepaliveCommand extends CommandEnvelope {
  streamId: string;
  keepaliveCount: number;
  messageType: 'keepalive';
}

/** `.../stream/stop` */
export interface StreamStopCommand extends CommandEnvelope {
  streamId: string;
  messageType: 'stop';
}

export type StreamCommand = StreamPlayCommand | StreamKeepaliveCommand | StreamStopCommand;

/**
 * One MQTT command, as the cloud flow's command-sender takes it (msg.topic, msg.payload,
 * msg.deviceId, msg.action): the one way commands reach devices, QoS 1, not retained.
 */
export interface StreamCommandMessage {
  topic: string;
  payload: StreamCommand;
  deviceId: string;
  /** command-sender's action name: stream-play, stream-keepalive, stream-stop */
  action: `stream-${StreamAction}`;
  qos: 1;
  retain: false;
}

/** What one camera stream needs to be described to the camera. */
export interface StreamDescription {
  cameraId: string;
  streamId: string;
  /** where the camera sends RTP: the address it reaches this server at (IPv4) */
  address: string;
  ports: LiveStreamPorts;
  cname: string;
}

/** `user{10 digits}@host-{8 hex}`, as the real platform generates it (§7 edit 2). */
export function newCname(): string {
  const digits = String(randomInt(0, 10_000_000_000)).padStart(10, '0');
  const hex = randomInt(0, 0x1_0000_0000).toString(16).padStart(8, '0');
  return `user${digits}@host-${hex}`;
}

/** A stream id per camera stream. UNKNOWN: whether the firmware cares about its form (the platform uses a UUID). */
export const newStreamId = (): string => randomUUID();

/**
 * The SDP sent as `sdpOffer`: what Kurento answered to the platform's offer, after the five
 * edits of §7, written out directly (we have no Kurento to answer). Line for line:
 * - every IPv4 address is `address` (o= and c=; edit 4);
 * - `m=audio`/`m=video` carry the bridge's RTP ports, `a=rtcp:` its RTCP ports (no rtcp-mux);
 * - audio: PT 96 opus, PT 0 PCMU, `a=sendrecv` (Kurento's answer to a sendrecv offer);
 * - video: PT 103 H.264 with the offer's fmtp and feedback (nack, nack pli, goog-remb, ccm fir),
 *   then `a=recvonly` and right after it `a=direction:passive` (edit 5);
 * - the first `a=ssrc:` of each section carries the camera's fixed SSRC (edit 1), every cname
 *   the generated one (edit 2);
 * - the three `a=x-skl-*` lines at the very end, the last without CRLF (edit 3).
 * UNKNOWN: which of Kurento's other lines (ice, fingerprints, extmap, a=mid) the firmware reads;
 * we send none; the session name stays Kurento's in case the firmware looks at it.
 */
export function cameraSdp(d: StreamDescription, sessionVersion = Date.now()): string {
  const { address, ports, cname } = d;
  const lines = [
    'v=0',
    `o=- ${sessionVersion} ${sessionVersion} IN IP4 ${address}`,
    's=Kurento Media Server',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${ports.audioRtp} RTP/AVPF 96 0`,
    `a=rtcp:${ports.audioRtcp}`,
    'a=rtpmap:96 opus/48000/2',
    'a=rtpmap:0 PCMU/8000',
    'a=sendrecv',
    // UNKNOWN: whether the audio section needs direction:passive too; Kurento answers it to the offer's active.
    'a=direction:passive',
    `a=ssrc:${VBC01_AUDIO_SSRC} cname:${cname}`,
    `m=video ${ports.videoRtp} RTP/AVPF 103`,
    `a=rtcp:${ports.videoRtcp}`,
    'a=rtpmap:103 H264/90000',
    'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'a=rtcp-fb:103 nack',
    'a=rtcp-fb:103 nack pli',
    'a=rtcp-fb:103 goog-remb',
    'a=rtcp-fb:103 ccm fir',
    'a=recvonly',
    'a=direction:passive',
    `a=ssrc:${VBC01_VIDEO_SSRC} cname:${cname}`,
    `a=x-skl-ssrca:${VBC01_AUDIO_SSRC}`,
    `a=x-skl-ssrcv:${VBC01_VIDEO_SSRC}`,
    `a=x-skl-cname:${cname}`,
  ];
  return lines.join('\r\n');
}

/** `{prefix}/honeycomb/{id}/stream/{action}` */
export const streamTopic = (prefix: string, cameraId: string, action: StreamAction): string =>
  `${prefix}/honeycomb/${cameraId}/stream/${action}`;

function envelope(cameraId: string, nowMs: number): CommandEnvelope {
  return { requestId: randomUUID(), creationTimestamp: creationTimestamp(nowMs), sourceId: cameraId, sourceType: VBC01_DEVICE_TYPE };
}

function message(prefix: string, cameraId: string, action: StreamAction, payload: StreamCommand): StreamCommandMessage {
  return { topic: streamTopic(prefix, cameraId, action), payload, deviceId: cameraId, action: `stream-${action}`, qos: 1, retain: false };
}

export function playCommand(prefix: string, d: StreamDescription, nowMs = Date.now()): StreamCommandMessage {
  return message(prefix, d.cameraId, 'play', {
    ...envelope(d.cameraId, nowMs),
    streamId: d.streamId,
    sdpOffer: cameraSdp(d, nowMs),
    messageType: 'play',
  });
}

export function keepaliveCommand(
  prefix: string,
  cameraId: string,
  streamId: string,
  count: number,
  nowMs = Date.now(),
): StreamCommandMessage {
  return message(prefix, cameraId, 'keepalive', {
    ...envelope(cameraId, nowMs),
    streamId,
    keepaliveCount: count,
    messageType: 'keepalive',
  });
}

export function stopCommand(prefix: string, cameraId: string, streamId: string, nowMs = Date.now()): StreamCommandMessage {
  return message(prefix, cameraId, 'stop', { ...envelope(cameraId, nowMs), streamId, messageType: 'stop' });
}

/**
 * The contract between the live-video bridge (plain RTP in from a camera or an
 * ffmpeg copy of an RTSP stream, WHEP out to browsers: rtp-bridge.ts) and
 * whoever drives it (the vbc01-live node, which signals the camera over MQTT,
 * and the RTSP source). Issue 17.
 *
 * One `LiveStream` per camera stream, whatever the number of viewers. The
 * bridge never re-encodes: it forwards the camera's H.264 (and audio, if any)
 * RTP to every viewer, starting each viewer at a keyframe.
 */
import type { EventEmitter } from 'node:events';

/** What the bridge needs to open one stream. */
export interface LiveStreamOptions {
  /** For logs, metrics and WHEP paths: the camera id. */
  cameraId: string;
  /** The only video SSRC accepted (a VBC01 always uses 1607797317). */
  videoSsrc: number;
  /** The only audio SSRC accepted (a VBC01: 229236353); none: audio is not received. */
  audioSsrc?: number;
  /** REMB the bridge sends until it measures loss (VBC01 seed: 5,000,000). */
  rembStartBps: number;
  /** REMB never goes below this (seed: 500,000). */
  rembFloorBps: number;
  /** No video packet for this long: `stall` is emitted (and `resume` when packets come back). */
  stallAfterMs: number;
  /** Send RTCP receiver reports and REMB (a VBC01 stops without them); an ffmpeg copy needs none. */
  sendRtcp: boolean;
}

/** The UDP ports of one stream: RTP on the even port, RTCP on the next (no rtcp-mux). */
export interface LiveStreamPorts {
  videoRtp: number;
  videoRtcp: number;
  audioRtp: number;
  audioRtcp: number;
}

/** Counters of one stream, as the health view and /metrics show them. */
export interface LiveStreamStats {
  cameraId: string;
  state: 'waiting' | 'playing' | 'stalled' | 'closed';
  packets: number;
  bytes: number;
  /** sequence-number gaps seen (packets the camera sent that never arrived) */
  lost: number;
  /** packets from another address or SSRC than the stream's, dropped */
  spoofed: number;
  bitrateBps: number;
  rembSent: number;
  lastRembBps: number;
  keyframeRequests: number;
  viewers: number;
  /** datagrams on the stream's ports that were not RTP/RTCP (the bridge always fills it) */
  malformed?: number;
  /** viewers' NACKs passed on to the camera (the bridge always fills it) */
  nacksForwarded?: number;
}

/** A viewer's WHEP answer. */
export interface WhepAnswer {
  viewerId: string;
  sdp: string;
}

/**
 * Events: 'first-packet' (the camera's address is learned), 'stall', 'resume',
 * 'viewers' (count: number; 0 lets the driver stop the camera), 'closed',
 * 'warning' (Error: a socket or viewer error, logged, never thrown).
 */
export interface LiveStream extends EventEmitter {
  readonly id: string;
  readonly ports: LiveStreamPorts;
  stats(): LiveStreamStats;
  /** A browser's WHEP offer (SDP, non-trickle): the answer, or throws a clear Error for a bad offer. */
  addViewer(offerSdp: string): Promise<WhepAnswer>;
  removeViewer(viewerId: string): void;
  /**
   * The driver restarted its own sender (the RTSP source's ffmpeg copy sends from a new port,
   * with a new sequence): the next packet with the stream's SSRC teaches the source again.
   * Never called for a VBC01, whose address stays the one it first sent from.
   */
  forgetSource(): void;
  close(): Promise<void>;
}

/** Configuration of the bridge as a whole. */
export interface LiveBridgeOptions {
  /** UDP port range for camera RTP/RTCP (seed: 5000–5050), pairs taken from it per stream. */
  portMin: number;
  portMax: number;
  /** Address to bind the camera-facing sockets on (default 0.0.0.0). */
  bindAddress?: string;
  /** Public address browsers reach for ICE (none: the host's own addresses). */
  iceAddress?: string;
  /** UDP ports for the browsers' ICE/media side, e.g. to forward on a NAT (none: any free port). */
  icePortRange?: [number, number];
}

/**
 * The vbc01-live node's properties, checked: a bad value stops the node with a message
 * naming the property (never a bridge on a port range that cannot work).
 */
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';
import type { NodeDef } from 'node-red';
import { parseNumber, SETTINGS, type SettingName } from '../lib/settings';
import type { LiveBridgeOptions } from '../lib/live/bridge-types';
import type { SessionTimings } from './camera-session';
import { parseRtspSources, type RtspLogin, type RtspSourceSpec } from '../lib/rtsp/rtsp-sources';

type Raw = string | number | undefined;

export interface Vbc01LiveDef extends NodeDef {
  prefix?: string;
  portMin?: Raw;
  portMax?: Raw;
  rembStartKbps?: Raw;
  rembFloorKbps?: Raw;
  publicAddress?: string;
  /** UDP ports for browsers' WebRTC media ("min-max"); empty: any port the system gives */
  icePorts?: string;
  cameraAddress?: string;
  keepaliveSeconds?: Raw;
  graceSeconds?: Raw;
  answerSeconds?: Raw;
  idleSeconds?: Raw;
  /** a picam-database config node: only known, connected VBC01 cameras are asked to stream */
  database?: string;
  /** cameras served from an RTSP stream: "cameraId=rtsp://host/path, ..." (nodes/lib/rtsp/rtsp-sources.ts) */
  rtspSources?: string;
}

/** The node's credentials: the login of RTSP sources whose URL has none. */
export interface Vbc01LiveCredentials {
  rtspUser?: string;
  rtspPassword?: string;
}

export interface LiveConfig {
  prefix: string;
  bridge: LiveBridgeOptions;
  cameraAddress: string;
  rembStartBps: number;
  rembFloorBps: number;
  timings: SessionTimings;
  /** camera id → its RTSP source; every other camera is a VBC01 */
  rtspSources: Map<string, RtspSourceSpec>;
}

/** The bridge's stall report comes before the idle stop: a short gap is shown, not acted on. */
const STALL_MS = 2000;

function setting(def: Vbc01LiveDef, name: SettingName, min: number = SETTINGS[name].min): number {
  const s = SETTINGS[name];
  const property = s.property[1] as keyof Vbc01LiveDef;
  return parseNumber(property, def[property] as Raw, s.value, { min, integer: s.integer });
}

/** Seconds as ms; fractions allowed (tests run keepalives every few ms), but never 0 where 0 would spin. */
function seconds(def: Vbc01LiveDef, name: SettingName, zeroAllowed = false): number {
  const ms = Math.round(setting(def, name, 0) * 1000);
  if (!zeroAllowed && ms < 10) throw new Error(`${SETTINGS[name].property[1]} must be more than 0`);
  return ms;
}

function address(name: string, raw: string | undefined): string | undefined {
  const v = (raw ?? '').trim();
  if (v === '') return undefined;
  if (!isIPv4(v)) throw new Error(`${name} must be an IPv4 address (got "${v}"): the camera's SDP carries IPv4 only`);
  return v;
}

/**
 * The UDP ports browsers' WebRTC media reaches the bridge on ("5100-5199"): a firewall or NAT
 * can only let through ports it knows. Empty: any port the system gives (fine on a LAN, or
 * with no firewall in front). One port per viewer (BUNDLE), per local IPv4 address.
 */
export function icePortRange(raw: string | undefined, cameraPorts: [number, number]): [number, number] | undefined {
  const v = (raw ?? '').trim();
  if (v === '') return undefined;
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(v);
  const [min, max] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(min >= 1024 && max <= 65535 && min <= max))
    throw new Error(`icePorts must be a UDP port range "min-max" within 1024-65535 (got "${v.slice(0, 40)}")`);
  if (min <= cameraPorts[1] && max >= cameraPorts[0])
    throw new Error(`icePorts ${min}-${max} overlaps the camera ports ${cameraPorts[0]}-${cameraPorts[1]}: give browsers their own range`);
  return [min, max];
}

/** The host's first external IPv4 address, for a server whose addresses nobody configured. */
export function hostAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

export function liveConfig(def: Vbc01LiveDef, credentials: Vbc01LiveCredentials = {}): LiveConfig {
  const portMin = setting(def, 'livePortMin');
  const portMax = setting(def, 'livePortMax');
  if (portMin > 65535 || portMax > 65535) throw new Error('ports must be at most 65535');
  // Each stream takes four ports (video and audio, RTP and RTCP each).
  if (portMax - portMin + 1 < 4) throw new Error(`the port range ${portMin}-${portMax} must hold at least 4 ports (one stream)`);
  const rembStartBps = setting(def, 'liveRembStartKbps') * 1000;
  const rembFloorBps = setting(def, 'liveRembFloorKbps') * 1000;
  if (rembFloorBps > rembStartBps) throw new Error('the REMB floor must not be above the REMB start');
  const publicAddress = address('publicAddress', def.publicAddress);
  const icePorts = icePortRange(def.icePorts, [portMin, portMax]);
  const cameraAddress = address('cameraAddress', def.cameraAddress) ?? publicAddress ?? hostAddress();
  const login: RtspLogin = { user: credentials.rtspUser, password: credentials.rtspPassword };
  return {
    prefix: (def.prefix || 'prod').replace(/\/+$/, ''),
    rtspSources: parseRtspSources(def.rtspSources, login),
    bridge: { portMin, portMax, ...(publicAddress && { iceAddress: publicAddress }), ...(icePorts && { icePortRange: icePorts }) },
    cameraAddress,
    rembStartBps,
    rembFloorBps,
    timings: {
      keepaliveMs: seconds(def, 'liveKeepaliveSeconds'),
      graceMs: seconds(def, 'liveGraceSeconds', true),
      answerMs: seconds(def, 'liveAnswerSeconds'),
      idleMs: seconds(def, 'liveIdleSeconds'),
      stallMs: STALL_MS,
    },
  };
}

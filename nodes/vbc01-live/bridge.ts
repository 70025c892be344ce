/**
 * Which live-video bridge the node runs: nodes/lib/live/rtp-bridge.ts (contract
 * nodes/lib/live/bridge-types.ts), unless tests hand in their own through the runtime's settings
 * (`picamLiveBridge`: a function from LiveBridgeOptions to a bridge), as the dashboard's hub
 * is handed to the dashboard-feed node.
 */
import type { LiveBridgeOptions, LiveStream, LiveStreamOptions, LiveStreamStats } from '../lib/live/bridge-types';
import { LiveBridge } from '../lib/live/rtp-bridge';

/** What the node uses of a bridge (the real LiveBridge has exactly these). */
export interface LiveBridgeLike {
  open(opts: LiveStreamOptions): Promise<LiveStream>;
  streams(): LiveStreamStats[];
  close(): Promise<void>;
}

export type LiveBridgeFactory = (opts: LiveBridgeOptions) => LiveBridgeLike;

/** The built-in bridge: the RTP/WHEP bridge of nodes/lib/live/. */
export const builtInBridge: LiveBridgeFactory = (opts) => new LiveBridge(opts);

/** The settings' bridge factory when one is given, else the built-in bridge. */
export function bridgeFactory(settings: { picamLiveBridge?: unknown }): LiveBridgeFactory {
  const given = settings.picamLiveBridge;
  return typeof given === 'function' ? (given as LiveBridgeFactory) : builtInBridge;
}
